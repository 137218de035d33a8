import Foundation
import KumoState

/// The state backends a shared test runs against: SQLite always, PostgreSQL when
/// `scripts/test` started a server (`KUMO_TEST_POSTGRES_URL`, `KUMO_TEST_POSTGRES_DIR`).
public enum StateBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite, postgres

    public var description: String { rawValue }

    /// The test server's URL, with the role's password in it.
    public static var postgresURL: String? { ProcessInfo.processInfo.environment["KUMO_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }
    /// The test server's directory, for `scripts/postgres stop|restart`.
    public static var postgresDirectory: String? { ProcessInfo.processInfo.environment["KUMO_TEST_POSTGRES_DIR"] }
    /// The test role's password: it must never appear in anything kumo prints.
    public static var postgresPassword: String? {
        postgresURL.flatMap { URLComponents(string: $0)?.password }
    }

    /// The backends to test here: PostgreSQL only when a server was started for the tests.
    public static var available: [StateBackend] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// A new, empty state: a file in `directory`, or a schema of its own on the test server.
    public func newLocation(in directory: String) -> String {
        switch self {
        case .sqlite: return directory + "/state.db"
        case .postgres:
            let url = StateBackend.postgresURL!
            return url + (url.contains("?") ? "&" : "?") + "schema=t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        }
    }

    /// `location` with another schema (PostgreSQL) or file name (SQLite), for a second state.
    public func sibling(of location: String, in directory: String, named name: String) -> String {
        switch self {
        case .sqlite: return directory + "/\(name).db"
        case .postgres: return location.replacingOccurrences(of: "schema=", with: "schema=\(name)_")
        }
    }

    /// Opens (creating) the state at `location`.
    public static func open(_ location: String) throws -> any StateStore {
        guard let store = try StateLocation(location).open(create: true) else { throw SupportError("no store at \(location)") }
        return store
    }

    /// Runs `scripts/postgres ACTION` on the test server (stop, restart).
    public static func server(_ action: String) throws {
        guard let directory = postgresDirectory else { throw SupportError("KUMO_TEST_POSTGRES_DIR is not set") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: KumoTestSupport.packageRoot + "/scripts/postgres")
        process.arguments = [action, directory]
        // Output to a file, and a wait of our own: the server it starts must hold none of the
        // tests' descriptors, and Foundation's Process was seen never to notice the script end
        // after a start (its isRunning stayed true); a zombie is reaped here.
        let log = directory + "/script.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? output.close() }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let pid = process.processIdentifier
        let deadline = Date().addingTimeInterval(90)
        var status: Int32 = 0
        var ended = false
        while !ended, Date() < deadline {
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid {
                ended = true
            } else if waited == -1 {
                // Foundation reaped it first: its status is there.
                ended = true
                status = process.isRunning ? 0 : process.terminationStatus << 8
            } else {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        guard ended else {
            kill(pid, SIGKILL)
            throw SupportError("scripts/postgres \(action) did not end within 90 s")
        }
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw SupportError("scripts/postgres \(action) failed: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }
}
