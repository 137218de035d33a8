import Foundation
import KumoManifest
import KumoPlan
import KumoState

/// Paths, the real `kumo` binary, the examples' desired states and state files, for the planner's
/// and the state store's tests.
public enum Support {
    public static var packageRoot: String { KumoTestSupport.packageRoot }
    public static var examples: String { packageRoot + "/examples" }
    public static var golden: String { packageRoot + "/Tests/KumoPlanTests/Fixtures/plans" }
    public static var binary: String { KumoTestSupport.binary }

    public static func start(_ arguments: [String], environment: [String: String] = [:], stdout: Pipe = Pipe(), stderr: Pipe = Pipe()) throws -> Process {
        var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        env.merge(environment) { $1 }
        return try KumoTestSupport.start(arguments, environment: env, stdout: stdout, stderr: stderr)
    }

    public static func kumo(_ arguments: [String], environment: [String: String] = [:]) throws -> KumoTestSupport.Output {
        try KumoTestSupport.run(arguments, environment: environment)
    }

    public static func kumoOnTerminal(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        try KumoTestSupport.runOnTerminal(arguments, environment: environment)
    }

    /// A fresh temporary directory, removed when the test process exits.
    public static func temporaryDirectory(_ prefix: String = "kumo-tests") throws -> String {
        let path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        TemporaryDirectories.shared.add(path)
        return path
    }

    public static func project(_ example: String) throws -> Project {
        try project(at: examples + "/" + example)
    }

    /// The project in `directory` (a path under the package, or absolute).
    public static func project(at directory: String) throws -> Project {
        let path = directory.hasPrefix("/") ? directory : packageRoot + "/" + directory
        let result = ProjectLoader.load(paths: [path], options: LoadOptions())
        guard let project = result.project else { throw SupportError("\(directory) does not load: \(result.diagnostics)") }
        return project
    }

    public static func desired(_ example: String, environment: [String: String] = [:]) throws -> DesiredState {
        try desired(of: try project(example), environment: environment)
    }

    /// The desired state of the project in `directory` (a path under the package, or absolute).
    public static func desired(at directory: String, environment: [String: String] = [:]) throws -> DesiredState {
        try desired(of: try project(at: directory), environment: environment)
    }

    static func desired(of project: Project, environment: [String: String]) throws -> DesiredState {
        let hasher = CodeHasher()
        return try DesiredState(project: project, environment: environment) { try hasher.hash(directory: $0) }
    }

    /// Plans the project at `path` against the state file `state` and writes the state as if
    /// every action succeeded, as the executor records it, without a runtime.
    @discardableResult
    public static func apply(project path: String, to state: String, environment: [String: String] = [:]) throws -> StateSnapshot {
        let desired = try desired(at: path, environment: environment)
        let current = try StateLocation(state).open(create: false)?.snapshot() ?? .empty
        let plan = try Planner().plan(desired: desired, current: current)
        let next = current.applying(plan, resources: desired.resources, secrets: desired.secretValues, lineage: UUID().uuidString.lowercased())
        try write(next, to: state)
        return next
    }

    /// Runs `sql` on the SQLite file at `path` with the `sqlite3` shell (as another program would
    /// see the file) and returns its output, trimmed.
    @discardableResult
    public static func sqlite(_ path: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [path, sql]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SupportError("sqlite3 \(path) '\(sql)': \(String(decoding: error, as: UTF8.self))") }
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes `snapshot` into a state (a file, or a PostgreSQL URL) through the store's own push path.
    public static func write(_ snapshot: StateSnapshot, to path: String) throws {
        let store = try StateLocation(path).open(create: true)!
        let lock = try store.lock(operation: "test", timeout: 0)
        defer { try? store.unlock(lock) }
        _ = try store.push(StateDocument(snapshot: snapshot), under: lock, force: true)
    }
}

public struct SupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Every directory `Support.temporaryDirectory` made, removed at exit: a test suite leaves
/// nothing behind in /tmp, however its tests end.
final class TemporaryDirectories: @unchecked Sendable {
    static let shared = TemporaryDirectories()
    private let lock = NSLock()
    private var paths: [String] = []

    private init() {
        atexit { TemporaryDirectories.shared.removeAll() }
    }

    func add(_ path: String) {
        lock.lock()
        paths.append(path)
        lock.unlock()
    }

    /// Also for harnesses that make their own directory.
    func removeAll() {
        lock.lock()
        let all = paths
        paths = []
        lock.unlock()
        for path in all { try? FileManager.default.removeItem(atPath: path) }
    }
}
