import Foundation
import GRDB

/// The bus's durable half: accepted events (the archive), one delivery record per matched
/// rule target, and the schedules' anchors. The runtime's own database
/// (`.kumo/runtime/events.db`), never the plan state: events are not infrastructure.
///
/// An event and its deliveries are written in one transaction before PutEvents answers; a
/// delivery is marked delivered in its own transaction as soon as its target acknowledged it.
/// A runtime killed at any point therefore restarts with every unfinished delivery pending.
final class EventStore: Sendable {
    let path: String
    private let queue: DatabaseQueue

    enum Status: String, Sendable, Codable {
        /// Waiting for its first attempt or a retry (`attempts > 0`: retrying).
        case pending
        case delivered
        /// In the dead-letter queue: every retry failed (or the event expired) and the rule keeps them.
        case dead
        /// Failed for good and not kept (the rule has no dead-letter queue, or the function's
        /// `invokeConfig.onFailure` is `discard`).
        case dropped
    }

    /// How an event came onto the bus: PutEvents, a schedule, a replay, or an asynchronous
    /// Lambda invocation (`X-Amz-Invocation-Type: Event`, whose payload is the "event").
    enum Origin: String, Sendable, Codable { case put, schedule, replay, invoke }

    struct Event: Sendable {
        var seq: Int64
        var id: String
        var receivedMilliseconds: Int64
        var origin: Origin
        var body: [UInt8]
        var matched: [String]
    }

    struct Delivery: Sendable {
        var id: Int64
        var eventSeq: Int64
        var eventID: String
        var rule: String
        var target: String
        var targetIndex: Int
        var path: String?
        var input: [UInt8]
        var status: Status
        var attempts: Int
        var functionErrors: Int
        var createdMilliseconds: Int64
        var nextMilliseconds: Int64
        var lastMilliseconds: Int64?
        var maximumRetryAttempts: Int
        var maximumEventAgeMilliseconds: Int64
        var deadLetter: Bool
        var errorCode: String?
        var errorMessage: String?

        init(row: Row) {
            id = row["id"]
            eventSeq = row["event_seq"]
            eventID = row["event_id"]
            rule = row["rule"]
            target = row["target"]
            targetIndex = row["target_index"]
            path = row["path"]
            input = Array((row["input"] as Data?) ?? Data())
            status = Status(rawValue: row["status"]) ?? .pending
            attempts = row["attempts"]
            functionErrors = row["function_errors"]
            createdMilliseconds = row["created_ms"]
            nextMilliseconds = row["next_ms"]
            lastMilliseconds = row["last_ms"]
            maximumRetryAttempts = row["max_attempts"]
            maximumEventAgeMilliseconds = row["max_age_ms"]
            deadLetter = row["dead_letter"]
            errorCode = row["error_code"]
            errorMessage = row["error_message"]
        }
    }

    /// A delivery to create with its event.
    struct NewDelivery: Sendable {
        var rule: String
        var target: String
        var targetIndex: Int
        var path: String?
        /// The transformed body; nil when the event cannot be delivered to this target (the
        /// record goes straight to the end of its road, with `error`).
        var input: [UInt8]?
        var error: (code: String, message: String)?
        var maximumRetryAttempts: Int
        var maximumEventAgeMilliseconds: Int64
        var deadLetter: Bool
    }

    struct NewEvent: Sendable {
        var id: String
        var receivedMilliseconds: Int64
        var origin: Origin
        var body: [UInt8]
        var matched: [String]
        var deliveries: [NewDelivery]
    }

    init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var config = Configuration()
        config.journalMode = .wal
        config.busyMode = .timeout(15)
        // A process kill loses nothing with WAL at NORMAL; only a power cut could.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        queue = try DatabaseQueue(path: path, configuration: config)
        chmod(path, 0o600)
        try EventStore.migrator.migrate(queue)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL,
                    received_ms INTEGER NOT NULL,
                    origin TEXT NOT NULL,
                    body BLOB NOT NULL,
                    matched TEXT NOT NULL
                );
                CREATE INDEX events_received ON events (received_ms);
                CREATE INDEX events_id ON events (id);
                CREATE TABLE deliveries (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_seq INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
                    event_id TEXT NOT NULL,
                    rule TEXT NOT NULL,
                    target TEXT NOT NULL,
                    target_index INTEGER NOT NULL,
                    path TEXT,
                    input BLOB,
                    status TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    function_errors INTEGER NOT NULL DEFAULT 0,
                    created_ms INTEGER NOT NULL,
                    next_ms INTEGER NOT NULL,
                    last_ms INTEGER,
                    max_attempts INTEGER NOT NULL,
                    max_age_ms INTEGER NOT NULL,
                    dead_letter INTEGER NOT NULL,
                    error_code TEXT,
                    error_message TEXT
                );
                CREATE INDEX deliveries_due ON deliveries (next_ms) WHERE status = 'pending';
                CREATE INDEX deliveries_event ON deliveries (event_seq);
                CREATE INDEX deliveries_rule ON deliveries (rule, status);
                CREATE TABLE schedules (
                    name TEXT PRIMARY KEY,
                    expression TEXT NOT NULL,
                    created_ms INTEGER NOT NULL,
                    last_fired_ms INTEGER
                );
                """)
        }
        return migrator
    }

    // MARK: Writing

    /// Writes events and their deliveries in one transaction; returns the events' sequence numbers.
    @discardableResult
    func insert(_ events: [NewEvent]) throws -> [Int64] {
        try queue.write { db in
            var seqs: [Int64] = []
            let event = try db.makeStatement(sql: "INSERT INTO events (id, received_ms, origin, body, matched) VALUES (?, ?, ?, ?, ?)")
            let delivery = try db.makeStatement(sql: """
                INSERT INTO deliveries (event_seq, event_id, rule, target, target_index, path, input, status, created_ms, next_ms,
                                        max_attempts, max_age_ms, dead_letter, error_code, error_message)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for e in events {
                try event.execute(arguments: [e.id, e.receivedMilliseconds, e.origin.rawValue, Data(e.body), e.matched.joined(separator: ",")])
                let seq = db.lastInsertedRowID
                seqs.append(seq)
                for d in e.deliveries {
                    let status: Status = d.input == nil ? (d.deadLetter ? .dead : .dropped) : .pending
                    try delivery.execute(arguments: [
                        seq, e.id, d.rule, d.target, d.targetIndex, d.path, d.input.map { Data($0) }, status.rawValue,
                        e.receivedMilliseconds, e.receivedMilliseconds, d.maximumRetryAttempts, d.maximumEventAgeMilliseconds,
                        d.deadLetter, d.error?.code, d.error?.message,
                    ])
                }
            }
            return seqs
        }
    }

    /// The outcome of one attempt.
    struct Outcome: Sendable {
        var id: Int64
        var status: Status
        var attempts: Int
        var functionErrors: Int
        var lastMilliseconds: Int64
        var nextMilliseconds: Int64
        var errorCode: String?
        var errorMessage: String?
    }

    func record(_ outcomes: [Outcome]) throws {
        guard !outcomes.isEmpty else { return }
        try queue.write { db in
            let statement = try db.makeStatement(sql: """
                UPDATE deliveries SET status = ?, attempts = ?, function_errors = ?, last_ms = ?, next_ms = ?, error_code = ?, error_message = ?
                WHERE id = ?
                """)
            for o in outcomes {
                try statement.execute(arguments: [o.status.rawValue, o.attempts, o.functionErrors, o.lastMilliseconds, o.nextMilliseconds, o.errorCode, o.errorMessage, o.id])
            }
        }
    }

    // MARK: Reading

    /// Pending deliveries due at `now`, oldest first, skipping `excluding` (those in flight).
    func due(now: Int64, limit: Int, excluding: Set<Int64>) throws -> [Delivery] {
        guard limit > 0 else { return [] }
        return try queue.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM deliveries WHERE status = 'pending' AND next_ms <= ? ORDER BY next_ms, id", arguments: [now])
            var result: [Delivery] = []
            while result.count < limit, let row = try rows.next() {
                let id: Int64 = row["id"]
                if !excluding.contains(id) { result.append(Delivery(row: row)) }
            }
            return result
        }
    }

    /// When the next pending delivery is due (nil: none pending).
    func nextDue(excluding: Set<Int64>) throws -> Int64? {
        try queue.read { db in
            if excluding.isEmpty {
                return try Int64.fetchOne(db, sql: "SELECT MIN(next_ms) FROM deliveries WHERE status = 'pending'")
            }
            let rows = try Row.fetchCursor(db, sql: "SELECT id, next_ms FROM deliveries WHERE status = 'pending' ORDER BY next_ms")
            while let row = try rows.next() {
                if !excluding.contains(row["id"]) { return row["next_ms"] }
            }
            return nil
        }
    }

    func events(limit: Int, rule: String? = nil, since: Int64? = nil) throws -> [(Event, [Delivery])] {
        try queue.read { db in
            var sql = "SELECT * FROM events"
            var arguments: StatementArguments = []
            var conditions: [String] = []
            if let since {
                conditions.append("received_ms >= ?")
                _ = arguments.append(contentsOf: [since])
            }
            if let rule {
                conditions.append("seq IN (SELECT event_seq FROM deliveries WHERE rule = ?)")
                _ = arguments.append(contentsOf: [rule])
            }
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            sql += " ORDER BY seq DESC LIMIT ?"
            _ = arguments.append(contentsOf: [limit])
            let events = try Row.fetchAll(db, sql: sql, arguments: arguments).map(EventStore.event(row:))
            return try events.map { event in
                (event, try Row.fetchAll(db, sql: "SELECT * FROM deliveries WHERE event_seq = ? ORDER BY id", arguments: [event.seq]).map(Delivery.init(row:)))
            }
        }
    }

    static func event(row: Row) -> Event {
        let matched: String = row["matched"]
        return Event(seq: row["seq"], id: row["id"], receivedMilliseconds: row["received_ms"],
                     origin: Origin(rawValue: row["origin"]) ?? .put, body: Array((row["body"] as Data?) ?? Data()),
                     matched: matched.isEmpty ? [] : matched.split(separator: ",").map(String.init))
    }

    /// Archived events received in [from, to], oldest first (replays are not archived again).
    func archived(from: Int64, to: Int64) throws -> [Event] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM events WHERE received_ms >= ? AND received_ms <= ? AND origin != 'replay' ORDER BY seq",
                             arguments: [from, to]).map(EventStore.event(row:))
        }
    }

    func deadLetters(rule: String?) throws -> [Delivery] {
        try queue.read { db in
            if let rule {
                return try Row.fetchAll(db, sql: "SELECT * FROM deliveries WHERE status = 'dead' AND rule = ? ORDER BY id", arguments: [rule]).map(Delivery.init(row:))
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM deliveries WHERE status = 'dead' ORDER BY id").map(Delivery.init(row:))
        }
    }

    /// Puts dead letters back in line, as new attempts with a fresh retry budget; returns how many.
    func redrive(rule: String?, now: Int64) throws -> Int {
        try queue.write { db in
            let filter = rule == nil ? "" : " AND rule = ?"
            let arguments: StatementArguments = rule.map { [now, now, $0] } ?? [now, now]
            try db.execute(sql: """
                UPDATE deliveries SET status = 'pending', attempts = 0, function_errors = 0, next_ms = ?, created_ms = ?,
                                      error_code = NULL, error_message = NULL
                WHERE status = 'dead' AND input IS NOT NULL\(filter)
                """, arguments: arguments)
            return db.changesCount
        }
    }

    /// Per rule (or trigger): deliveries by status, and how many of the pending ones are retries.
    struct Counts: Sendable, Equatable {
        var matched = 0
        var delivered = 0
        var pending = 0
        var retrying = 0
        var dead = 0
        var dropped = 0
    }

    func counts() throws -> [String: Counts] {
        try queue.read { db in
            var result: [String: Counts] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT rule, status, SUM(attempts > 0) AS retries, COUNT(*) AS n, COUNT(DISTINCT event_seq) AS events
                FROM deliveries GROUP BY rule, status
                """) {
                let rule: String = row["rule"]
                let n: Int = row["n"]
                var c = result[rule] ?? Counts()
                switch Status(rawValue: row["status"]) {
                case .delivered: c.delivered += n
                case .pending:
                    let retries: Int = row["retries"]
                    c.pending += n - retries
                    c.retrying += retries
                case .dead: c.dead += n
                case .dropped: c.dropped += n
                case nil: break
                }
                result[rule] = c
            }
            for row in try Row.fetchAll(db, sql: "SELECT rule, COUNT(DISTINCT event_seq) AS n FROM deliveries GROUP BY rule") {
                result[row["rule"], default: Counts()].matched = row["n"]
            }
            return result
        }
    }

    // MARK: Schedules

    /// The anchor of a schedule: when it was created (a rate fires at created + k·interval) and
    /// when it last fired. A changed expression starts again from `now`.
    func scheduleAnchor(name: String, expression: String, now: Int64) throws -> (created: Int64, lastFired: Int64?) {
        try queue.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM schedules WHERE name = ?", arguments: [name]), (row["expression"] as String) == expression {
                return (row["created_ms"], row["last_fired_ms"])
            }
            try db.execute(sql: "INSERT OR REPLACE INTO schedules (name, expression, created_ms, last_fired_ms) VALUES (?, ?, ?, NULL)", arguments: [name, expression, now])
            return (now, nil)
        }
    }

    func scheduleFired(name: String, at: Int64) throws {
        try queue.write { db in try db.execute(sql: "UPDATE schedules SET last_fired_ms = ? WHERE name = ?", arguments: [at, name]) }
    }

    func forgetSchedule(name: String) throws {
        try queue.write { db in try db.execute(sql: "DELETE FROM schedules WHERE name = ?", arguments: [name]) }
    }

    // MARK: Retention

    /// Deletes events received before `before` whose deliveries are all finished and none of
    /// them is a dead letter (the dead-letter queue keeps its events until redriven).
    @discardableResult
    func purge(before: Int64) throws -> Int {
        try queue.write { db in
            try db.execute(sql: """
                DELETE FROM events WHERE received_ms < ? AND NOT EXISTS (
                    SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq AND d.status IN ('pending', 'dead'))
                """, arguments: [before])
            return db.changesCount
        }
    }
}
