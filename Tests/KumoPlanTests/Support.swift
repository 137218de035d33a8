import Foundation
import KumoManifest
import KumoPlan
import KumoState

/// Paths, the real `kumo` binary, and the examples' desired states, for the planner's tests.
enum Support {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    static var examples: String { packageRoot + "/examples" }
    static var golden: String { packageRoot + "/Tests/Fixtures/plans" }

    static var binary: String {
        ProcessInfo.processInfo.environment["KUMO_BIN"] ?? packageRoot + "/.build/debug/kumo"
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Starts `kumo` with only PATH and HOME in its environment (plus `environment`).
    static func start(_ arguments: [String], environment: [String: String] = [:], stdout: Pipe = Pipe(), stderr: Pipe = Pipe()) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        return process
    }

    static func kumo(_ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let out = Pipe(), err = Pipe()
        let process = try start(arguments, environment: environment, stdout: out, stderr: err)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Runs kumo under a pseudo-terminal (util-linux `script`), where colour is allowed.
    static func kumoOnTerminal(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let command = ([binary] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let out = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        var env = ["PATH": "/usr/bin:/bin", "TERM": "xterm"]
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
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
