import Foundation

/// What every test target shares: where the package is, and the real `kumo` binary run as a
/// user runs it (in a pipe, or on a pseudo-terminal).
public enum KumoTestSupport {
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// The `Fixtures` folder of the test target whose source file calls this: each suite reads
    /// the fixtures beside it.
    public static func fixtures(_ file: String = #filePath) -> String {
        var url = URL(fileURLWithPath: file)
        while url.path != "/" {
            let parent = url.deletingLastPathComponent()
            if parent.lastPathComponent == "Tests" { return url.path + "/Fixtures" }
            url = parent
        }
        fatalError("\(file) is not under Tests/")
    }

    /// Runs `body` with a fresh temporary directory, removed afterwards however `body` ends.
    public static func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let path = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    /// Runs `body` with a fresh temporary directory, removed afterwards however `body` ends.
    public static func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let path = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await body(path)
    }

    static func makeTemporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "kumo-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The binary under test: `KUMO_BIN`, or the debug build.
    public static var binary: String {
        ProcessInfo.processInfo.environment["KUMO_BIN"] ?? packageRoot + "/.build/debug/kumo"
    }

    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// Starts `kumo` with `environment` (by default only PATH and HOME), optionally in `directory`,
    /// and as another `user` (through runuser, when the tests run as root).
    public static func start(_ arguments: [String], environment: [String: String], directory: String? = nil, user: String? = nil,
                             stdin: Pipe? = nil, stdout: Pipe, stderr: Pipe) throws -> Process {
        let process = Process()
        if let user {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", user, "--", "/usr/bin/env", "-i"] + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                + [binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        }
        process.environment = environment
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let stdin { process.standardInput = stdin }
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        return process
    }

    /// Runs `kumo` to the end and returns its status and output; `input`, when given, is its
    /// standard input (otherwise it inherits the tests').
    public static func run(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil, user: String? = nil,
                           input: String? = nil) throws -> Output {
        var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        env.merge(environment) { $1 }
        let out = Pipe(), err = Pipe()
        let stdin = input.map { _ in Pipe() }
        let process = try start(arguments, environment: env, directory: directory, user: user, stdin: stdin, stdout: out, stderr: err)
        if let stdin, let input {
            // Written from another thread: a large input must not block while kumo's output fills its pipe.
            let writer = stdin.fileHandleForWriting
            Thread.detachNewThread {
                try? writer.write(contentsOf: Data(input.utf8))
                try? writer.close()
            }
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Runs `kumo` under a pseudo-terminal (util-linux `script`), where colour is allowed.
    public static func runOnTerminal(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
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
}
