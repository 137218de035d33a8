import AsyncHTTPClient
import Foundation
import KumoManifest
import KumoApply
import KumoPlan
import KumoRuntime
import KumoTestSupport
import NIOCore
import NIOHTTP1

/// A project copied to a temporary directory, with a real runtime started by the real `kumo`.
final class RuntimeHarness: @unchecked Sendable {
    static var packageRoot: String { KumoTestSupport.packageRoot }
    static var binary: String { KumoTestSupport.binary }

    let directory: String
    var environment: [String: String]

    /// Copies `source` (a directory under the package) to a fresh temporary directory.
    init(copying source: String, environment: [String: String] = [:]) throws {
        directory = NSTemporaryDirectory() + "kumo-runtime-" + UUID().uuidString.prefix(8)
        try FileManager.default.copyItem(atPath: RuntimeHarness.packageRoot + "/" + source, toPath: directory)
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        env.merge(environment) { $1 }
        self.environment = env
    }

    deinit {
        if let info = RuntimeInfo.load(projectDirectory: directory) {
            kill(info.pid, SIGTERM)
            for _ in 0..<100 where kill(info.pid, 0) == 0 { usleep(50_000) }
            kill(info.pid, SIGKILL)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    func kumo(_ arguments: [String], extra: [String: String] = [:]) throws -> KumoTestSupport.Output {
        try KumoTestSupport.run(arguments, environment: environment.merging(extra) { $1 }, directory: directory)
    }

    /// `kumo runtime start` on a free gateway port; returns the runtime's info.
    func startRuntime() throws -> RuntimeInfo {
        let result = try kumo(["runtime", "start", "--gateway-port", "0"])
        guard result.status == 0, let info = RuntimeInfo.load(projectDirectory: directory) else {
            throw HarnessError("runtime start failed: \(result.stdout) \(result.stderr)")
        }
        return info
    }

    var info: RuntimeInfo? { RuntimeInfo.load(projectDirectory: directory) }

    struct HTTPResult {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        var json: ConfigValue? { try? ConfigValue(json: body) }
    }

    func http(_ method: HTTPMethod, port: Int, _ path: String, body: String? = nil, headers: [(String, String)] = []) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let text = String(buffer: try await response.body.collect(upTo: 16 * 1024 * 1024))
        return HTTPResult(status: Int(response.status.code), headers: response.headers, body: text)
    }

    func gateway(_ method: HTTPMethod, _ path: String, body: String? = nil, headers: [(String, String)] = []) async throws -> HTTPResult {
        guard let info else { throw HarnessError("no runtime") }
        return try await http(method, port: info.gatewayPort, path, body: body, headers: headers)
    }

    func invoke(_ function: String, _ payload: String, type: String = "RequestResponse") async throws -> HTTPResult {
        try await gateway(.POST, "/2015-03-31/functions/\(function)/invocations", body: payload, headers: [("X-Amz-Invocation-Type", type)])
    }

    func status() async throws -> ControlAPI.Status {
        guard let info else { throw HarnessError("no runtime") }
        return try await RuntimeClient(info: info).status()
    }

    /// A resource's `detail` as the control API sends it (JSON), so tests read the wire names.
    func detail(_ address: String) async throws -> ConfigValue? {
        guard let resource = try await status().resources.first(where: { $0.address == address }) else { return nil }
        return try ConfigValue(json: String(decoding: ControlAPI.encode(resource), as: UTF8.self))["detail"]
    }

    /// The pid of every process the runtime reports (workers and replicas).
    func pids() async throws -> [Int] {
        try await status().resources.flatMap { $0.detail.pids.map(Int.init) }
    }

    /// A socket bound to a free port on 127.0.0.1 (listening when `listen` is true), and the port.
    static func boundSocket(listen listening: Bool = false) -> (fd: Int32, port: Int) {
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

    /// Raises this process's soft limit on open descriptors to at least `wanted` (a daemon
    /// started afterwards inherits it); false when the hard limit is lower.
    static func raiseDescriptorLimit(to wanted: Int) -> Bool {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return false }
        if limit.rlim_cur >= rlim_t(wanted) { return true }
        guard limit.rlim_max >= rlim_t(wanted) else { return false }
        limit.rlim_cur = rlim_t(wanted)
        return setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0
    }

    /// The lines of a log under `.kumo/logs/` (`runtime`, `service.web`, …) that contain `text`.
    func logLines(_ address: String, containing text: String) -> [String] {
        let log = (try? String(contentsOfFile: directory + "/.kumo/logs/\(address).log", encoding: .utf8)) ?? ""
        return log.split(separator: "\n").map(String.init).filter { $0.contains(text) }
    }

    /// Every process whose pid is in `pids` that still runs.
    static func alive(_ pids: [Int]) -> [Int] {
        pids.filter { kill(pid_t($0), 0) == 0 && !isZombie(pid_t($0)) }
    }

    static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }

    static func waitUntil(timeout: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
