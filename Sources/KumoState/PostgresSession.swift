import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// One connection to the PostgreSQL server, used synchronously: every call blocks its caller
/// (never an event-loop thread) until the server answers or the time limit passes.
///
/// The state store's API is synchronous (its SQLite twin blocks on file I/O just the same),
/// so the connection's futures are waited on from the caller's thread while NIO's own threads
/// do the I/O; nothing waits on a Swift-concurrency task, so concurrent callers cannot starve
/// the cooperative pool. Not safe for concurrent use: its owner serialises calls.
final class PostgresSession: @unchecked Sendable {
    /// How long a connection attempt may take.
    static let connectTimeout = TimeAmount.seconds(10)
    /// How long one statement may take before the connection is given up as hung.
    static let statementTimeout = TimeAmount.seconds(120)

    let location: PostgresLocation
    let connection: PostgresConnection
    /// The server process serving this connection (`pg_backend_pid()`).
    let backendPID: Int32
    private let logger: Logger

    private init(location: PostgresLocation, connection: PostgresConnection, backendPID: Int32, logger: Logger) {
        self.location = location
        self.connection = connection
        self.backendPID = backendPID
        self.logger = logger
    }

    /// Connects, logs in and sets the search path to the location's schema (when it names one).
    static func connect(_ location: PostgresLocation) throws(StateError) -> PostgresSession {
        // PostgresNIO logs nothing below .error here; its messages never carry the password.
        var logger = Logger(label: "kumo.state.postgres")
        logger.logLevel = .critical
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.resolvedPassword(),
            database: location.database, tls: try tls(location))
        configuration.options.connectTimeout = connectTimeout
        if location.sslMode == .verifyFull { configuration.options.tlsServerName = location.host }
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let connection: PostgresConnection
        do {
            connection = try wait(PostgresConnection.connect(on: eventLoop, configuration: configuration, id: 1, logger: logger), timeout: connectTimeout + .seconds(5), onTimeout: {})
        } catch {
            throw PostgresFailure(error, location: location, connecting: true).stateError
        }
        do {
            let result = try wait(connection.query("SELECT pg_backend_pid()", logger: logger), timeout: statementTimeout) { closeNow(connection) }
            let pid = try result.rows.first?.decode(Int32.self) ?? 0
            let session = PostgresSession(location: location, connection: connection, backendPID: pid, logger: logger)
            if let schema = location.schema {
                try session.execute(PostgresQuery(unsafeSQL: "SET search_path TO " + quotedIdentifier(schema)))
            }
            return session
        } catch let error as StateError {
            closeNow(connection)
            throw error
        } catch {
            closeNow(connection)
            throw PostgresFailure(error, location: location, connecting: true).stateError
        }
    }

    static func tls(_ location: PostgresLocation) throws(StateError) -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if location.sslMode != .verifyFull { configuration.certificateVerification = .none }
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: configuration) } catch {
            throw StateError("cannot set up TLS for the PostgreSQL server at \(location.server): \(error)")
        }
        switch location.sslMode {
        case .disable: return .disable
        case .prefer: return .prefer(context)
        case .require, .verifyFull: return .require(context)
        }
    }

    /// Runs one statement and returns all its rows.
    @discardableResult
    func query(_ query: PostgresQuery) throws(StateError) -> [PostgresRow] {
        do {
            let connection = self.connection
            return try PostgresSession.wait(connection.query(query, logger: logger), timeout: PostgresSession.statementTimeout) { PostgresSession.closeNow(connection) }.rows
        } catch {
            throw PostgresFailure(error, location: location, connecting: false).stateError
        }
    }

    /// Runs one statement for its effect.
    func execute(_ query: PostgresQuery) throws(StateError) {
        try self.query(query)
    }

    var isClosed: Bool { connection.isClosed }

    func close() {
        let closing: EventLoopFuture<Void> = connection.close()
        _ = try? PostgresSession.wait(closing, timeout: .seconds(5), onTimeout: {})
    }

    /// Starts closing `connection` without waiting (from a timer on its event loop, say).
    static func closeNow(_ connection: PostgresConnection) {
        let _: EventLoopFuture<Void> = connection.close()
    }

    /// Waits for `future` from a thread that is not one of NIO's; past `timeout` the wait
    /// fails and `onTimeout` runs (closing the connection, so nothing is left half-read).
    static func wait<T: Sendable>(_ future: EventLoopFuture<T>, timeout: TimeAmount, onTimeout: @escaping @Sendable () -> Void) throws -> T {
        let eventLoop = future.eventLoop
        let promise = eventLoop.makePromise(of: T.self)
        let settled = Once()
        let timer = eventLoop.scheduleTask(in: timeout) {
            guard settled.claim() else { return }
            promise.fail(PostgresFailure.TimedOut())
            onTimeout()
        }
        future.whenComplete { result in
            timer.cancel()
            guard settled.claim() else { return }
            promise.completeWith(result)
        }
        return try promise.futureResult.wait()
    }
}

/// True for the first caller of ``claim()`` only: the promise is completed once, by the
/// answer or by the timer, whichever comes first.
private final class Once: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed = false

    func claim() -> Bool {
        lock.withLock {
            defer { claimed = true }
            return !claimed
        }
    }
}

/// A schema or table name, double-quoted (names are checked to be letters, digits and '_').
func quotedIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// What went wrong talking to PostgreSQL, as one line that names the server (host, port and
/// database, never the password), and whether trying again may help.
struct PostgresFailure {
    struct TimedOut: Error {}

    enum Kind: Equatable {
        /// Connection reset or closed, a serialization failure or a deadlock: worth a retry.
        case transient
        /// Anything else: retrying would fail the same way.
        case permanent
    }

    var message: String
    var kind: Kind

    init(_ error: any Error, location: PostgresLocation, connecting: Bool) {
        let server = location.server
        if error is TimedOut {
            message = connecting ? "cannot connect to the PostgreSQL server at \(server): no answer in time"
                : "the PostgreSQL server at \(server) did not answer in time; the connection was closed"
            kind = .permanent
            return
        }
        guard let error = error as? PSQLError else {
            message = "cannot \(connecting ? "connect to" : "talk to") the PostgreSQL server at \(server): \(PostgresFailure.reason(error))"
            kind = PostgresFailure.isReset(error) && !connecting ? .transient : .permanent
            return
        }
        let state = error.serverInfo?[.sqlState]
        let serverMessage = error.serverInfo?[.message] ?? ""
        switch (error.code, state) {
        case (.server, "28P01"?), (.server, "28000"?):
            message = "cannot log in to the PostgreSQL server at \(server) as \(location.user): \(serverMessage) (check the password: URL, PGPASSWORD or ~/.pgpass)"
            kind = .permanent
        case (.server, "3D000"?):
            message = "the PostgreSQL server at \(location.host):\(location.port) has no database \(location.database)"
            kind = .permanent
        case (.server, "40001"?), (.server, "40P01"?):
            message = "the PostgreSQL server at \(server) aborted a transaction: \(serverMessage)"
            kind = .transient
        case (.server, let state?) where state.hasPrefix("57P") || state.hasPrefix("08"):
            // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now; 08 connection exceptions.
            message = "the PostgreSQL server at \(server) went away: \(serverMessage)"
            kind = connecting ? .permanent : .transient
        case (.server, _):
            message = "the PostgreSQL server at \(server) refused a statement: \(serverMessage)\(state.map { " (SQLSTATE \($0))" } ?? "")"
            kind = .permanent
        case (.authMechanismRequiresPassword, _):
            message = "cannot log in to the PostgreSQL server at \(server) as \(location.user): the server wants a password (give it in the URL, PGPASSWORD or ~/.pgpass)"
            kind = .permanent
        case (.sslUnsupported, _):
            message = "the PostgreSQL server at \(server) does not offer TLS, which sslmode=\(location.sslMode.rawValue) requires"
            kind = .permanent
        case (.serverClosedConnection, _), (.uncleanShutdown, _), (.clientClosedConnection, _):
            message = connecting ? "cannot connect to the PostgreSQL server at \(server): it closed the connection"
                : "lost the connection to the PostgreSQL server at \(server)"
            kind = connecting ? .permanent : .transient
        case (.connectionError, _):
            let reason = error.underlying.map(PostgresFailure.reason) ?? "connection failed"
            message = connecting ? "cannot connect to the PostgreSQL server at \(server): \(reason)"
                : "lost the connection to the PostgreSQL server at \(server): \(reason)"
            kind = connecting ? .permanent : .transient
        default:
            message = "cannot \(connecting ? "connect to" : "talk to") the PostgreSQL server at \(server): \(error.code)"
            kind = .permanent
        }
    }

    var stateError: StateError {
        var error = StateError(message)
        error.isTransient = kind == .transient
        return error
    }

    /// A short reason for a socket-level error (`connection refused`, a DNS failure…).
    static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return reason(first.error) }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve the host name (\(dns))" }
            return "connection failed"
        }
        if error is ChannelError { return "the connection closed" }
        if let error = error as? NIOSSLError { return "TLS failed: \(error)" }
        return "\(error)"
    }

    static func isReset(_ error: any Error) -> Bool {
        if let error = error as? IOError { return [ECONNRESET, EPIPE, ECONNABORTED].contains(error.errnoCode) }
        return error is ChannelError
    }
}
