import Foundation
import KumoPlan
import KumoState

/// A project copied to a temporary directory, run by the real `kumo`, with a real runtime when
/// a test starts one. The directory, and the runtime, go when the harness does (or at
/// ``tearDown()``, which a test may call to end them at a point of its choosing).
public final class RuntimeHarness: @unchecked Sendable {
    public static var packageRoot: String { KumoTestSupport.packageRoot }
    public static var binary: String { KumoTestSupport.binary }

    public let directory: String
    public var environment: [String: String]
    /// Runs `kumo` as this user (the tests run as root; nil: as the tests' user).
    public var user: String?

    /// Copies `source` (a directory: absolute, or relative to the package) to a fresh temporary
    /// directory.
    public init(copying source: String, environment: [String: String] = [:]) throws {
        directory = NSTemporaryDirectory() + "kumo-runtime-" + UUID().uuidString.prefix(8)
        let from = source.hasPrefix("/") ? source : RuntimeHarness.packageRoot + "/" + source
        try FileManager.default.copyItem(atPath: from, toPath: directory)
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        // KUMO_ISOLATION=off runs the suite without namespaces, as on a machine that refuses them.
        if let isolation = ProcessInfo.processInfo.environment["KUMO_ISOLATION"] { env["KUMO_ISOLATION"] = isolation }
        env.merge(environment) { $1 }
        self.environment = env
    }

    deinit { tearDown() }

    /// Stops the runtime (SIGTERM, then SIGKILL after 5 s) and removes the directory.
    public func tearDown() {
        if let info = RuntimeInfo.load(projectDirectory: directory) {
            kill(info.pid, SIGTERM)
            for _ in 0..<100 where kill(info.pid, 0) == 0 && !RuntimeHarness.isZombie(info.pid) { usleep(50_000) }
            kill(info.pid, SIGKILL)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `kumo` in the project directory; `input` is its standard input.
    @discardableResult
    public func kumo(_ arguments: [String], extra: [String: String] = [:], input: String? = nil) throws -> KumoTestSupport.Output {
        try KumoTestSupport.run(arguments, environment: environment.merging(extra) { $1 }, directory: directory, user: user, input: input)
    }

    /// `kumo runtime start` on a free gateway port; returns the runtime's info.
    @discardableResult
    public func startRuntime() throws -> RuntimeInfo {
        let result = try kumo(["runtime", "start", "--gateway-port", "0"])
        guard result.status == 0, let info = RuntimeInfo.load(projectDirectory: directory) else {
            throw SupportError("runtime start failed: \(result.stdout) \(result.stderr)")
        }
        return info
    }

    public var info: RuntimeInfo? { RuntimeInfo.load(projectDirectory: directory) }

    /// A path inside the project.
    public func path(_ relative: String) -> String { directory + "/" + relative }

    /// Writes `text` to a file of the project (its directory made as needed).
    public func write(_ text: String, to relative: String) throws {
        let file = path(relative)
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
    }

    /// The project's state as the store reads it (empty when there is none).
    public func state(_ relative: String = ".kumo/state.db") throws -> StateSnapshot {
        try SQLiteStateStore.open(path: path(relative), create: false)?.snapshot() ?? .empty
    }

    /// A socket bound to a free port on 127.0.0.1 (listening when `listen` is true), and the port.
    public static func boundSocket(listen listening: Bool = false) -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if listening { listen(fd, 1) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Every process whose pid is in `pids` that still runs.
    public static func alive(_ pids: [Int]) -> [Int] {
        pids.filter { kill(pid_t($0), 0) == 0 && !isZombie(pid_t($0)) }
    }

    public static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }

    /// Polls `condition` every 50 ms until it holds (true) or `timeout` seconds pass (false).
    public static func waitUntil(timeout: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
