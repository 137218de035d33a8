import Foundation
import KumoManifest
import KumoPlan
import KumoState
import KumoTestSupport

/// Paths, the real `kumo` binary, and the examples' desired states, for the planner's tests.
enum Support {
    static var packageRoot: String { KumoTestSupport.packageRoot }
    static var examples: String { packageRoot + "/examples" }
    static var golden: String { packageRoot + "/Tests/Fixtures/plans" }
    static var binary: String { KumoTestSupport.binary }

    static func start(_ arguments: [String], environment: [String: String] = [:], stdout: Pipe = Pipe(), stderr: Pipe = Pipe()) throws -> Process {
        var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        env.merge(environment) { $1 }
        return try KumoTestSupport.start(arguments, environment: env, stdout: stdout, stderr: stderr)
    }

    static func kumo(_ arguments: [String], environment: [String: String] = [:]) throws -> KumoTestSupport.Output {
        try KumoTestSupport.run(arguments, environment: environment)
    }

    static func kumoOnTerminal(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        try KumoTestSupport.runOnTerminal(arguments, environment: environment)
    }

    /// A fresh temporary directory.
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "kumo-plan-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func project(_ example: String) throws -> Project {
        let result = ProjectLoader.load(paths: [examples + "/" + example], options: LoadOptions())
        guard let project = result.project else { throw SupportError("example \(example) does not load: \(result.diagnostics)") }
        return project
    }

    static func desired(_ example: String, environment: [String: String] = [:]) throws -> DesiredState {
        let hasher = CodeHasher()
        return try DesiredState(project: try project(example), environment: environment) { try hasher.hash(directory: $0) }
    }

    /// Writes `snapshot` into a state file through the store's own push path.
    static func write(_ snapshot: StateSnapshot, to path: String) throws {
        let store = try StateStore.open(path: path, create: true)!
        let lock = try store.lock(operation: "test")
        defer { try? store.unlock(lock) }
        _ = try store.push(StateDocument(snapshot: snapshot), under: lock, force: true)
    }
}

struct SupportError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
