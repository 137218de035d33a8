import Foundation
import KumoManifest
import KumoPlan
import PostgresNIO

/// The PostgreSQL state store: one schema of a database (by default `kumo_<project>_<stage>`)
/// holding the same tables as the SQLite store, so that a team and CI share one state.
///
/// Reads run in one repeatable-read transaction, so they see one consistent snapshot. Every
/// write is one transaction that first checks that its lock is still held (the lock row is
/// this process's and its session still holds the advisory lock) and then increases the
/// serial; a process killed or cut off in the middle of it leaves the state as it was.
/// Connection resets and serialization failures are retried a few times with back-off.
///
/// Safe to use from several threads: calls on the data connection are serialised; the lock
/// lives on a connection of its own (see `PostgresStateStore+Lock.swift`).
public final class PostgresStateStore: StateStore, @unchecked Sendable {
    public static let schemaVersion = 3
    /// How many times a transient failure is tried again, and the first back-off (doubling).
    static let retries = 4
    static let firstBackoff = 0.1

    /// The location, with its schema filled in.
    public let target: PostgresLocation
    let schema: String
    /// Guards `session` and `lockSession`, and serialises the statements of one transaction.
    let mutex = NSLock()
    var session: PostgresSession?
    var lockSession: PostgresSession?
    /// Whether `lockSession` holds the advisory lock (it is re-entrant within a session, so a
    /// second `lock` through this store must not take it again).
    var holdsLock = false

    public var location: String { target.description }

    /// Opens the state in `location`'s schema. Without `create`, a schema without Kumo's tables
    /// is nil (an empty state) and nothing is created.
    public static func open(_ location: PostgresLocation, create: Bool) throws(StateError) -> PostgresStateStore? {
        guard let schema = location.schema else {
            throw StateError("the state URL \(location) names no schema: add ?schema=NAME")
        }
        let store = PostgresStateStore(location, schema: schema)
        let exists = try store.run { session throws(StateError) in
            try session.query("SELECT 1 FROM information_schema.tables WHERE table_schema = \(schema) AND table_name = 'schema_info'").count == 1
        }
        if !exists && !create {
            store.close()
            return nil
        }
        try store.migrate()
        return store
    }

    init(_ location: PostgresLocation, schema: String) {
        target = location
        self.schema = schema
    }

    deinit { close() }

    /// Closes both connections (the lock's too: a lock still held is released).
    public func close() {
        mutex.withLock {
            session?.close()
            session = nil
            lockSession?.close()
            lockSession = nil
        }
    }

    // MARK: Schema

    /// Each version's statements, run in order in one transaction; the same history as the
    /// SQLite store's migrations.
    static let migrations: [[String]] = [
        [
            "CREATE TABLE schema_info (version INTEGER NOT NULL, applied_at TEXT NOT NULL)",
            """
            CREATE TABLE meta (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                lineage TEXT NOT NULL,
                serial BIGINT NOT NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE resources (
                address TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                name TEXT NOT NULL,
                spec TEXT NOT NULL,
                spec_hash TEXT NOT NULL,
                code_hash TEXT,
                secrets TEXT NOT NULL,
                dependencies TEXT NOT NULL,
                status TEXT NOT NULL,
                applied_serial BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE journal (
                id BIGSERIAL PRIMARY KEY,
                operation TEXT NOT NULL,
                plan_hash TEXT,
                started_at TEXT NOT NULL,
                ended_at TEXT,
                outcome TEXT NOT NULL,
                serial_before BIGINT NOT NULL,
                serial_after BIGINT
            )
            """,
            """
            CREATE TABLE timings (
                id BIGSERIAL PRIMARY KEY,
                journal_id BIGINT REFERENCES journal(id) ON DELETE CASCADE,
                address TEXT NOT NULL,
                kind TEXT NOT NULL,
                action TEXT NOT NULL,
                duration_ms DOUBLE PRECISION NOT NULL,
                wave BIGINT NOT NULL,
                wave_size BIGINT NOT NULL,
                parallelism BIGINT NOT NULL,
                recorded_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX timings_kind ON timings(kind, action)",
            // The holder's details, and the server process of the session that holds the
            // advisory lock: the lock is held only while that session lives.
            """
            CREATE TABLE lock (
                single INTEGER PRIMARY KEY CHECK (single = 1),
                id TEXT NOT NULL,
                operation TEXT NOT NULL,
                pid BIGINT NOT NULL,
                host TEXT NOT NULL,
                "user" TEXT NOT NULL,
                since TEXT NOT NULL,
                backend_pid INTEGER NOT NULL
            )
            """,
        ],
        [
            "ALTER TABLE timings ADD COLUMN started_ms DOUBLE PRECISION NOT NULL DEFAULT 0",
            """
            CREATE TABLE calibration (
                kind TEXT PRIMARY KEY,
                init_ms DOUBLE PRECISION NOT NULL,
                each_ms DOUBLE PRECISION NOT NULL,
                samples BIGINT NOT NULL,
                rmse_ms DOUBLE PRECISION NOT NULL,
                fitted_at TEXT NOT NULL
            )
            """,
        ],
        // The work each action did (processes started and stopped; counted = 0 for timings
        // recorded before, which calibration leaves out), each apply's estimate and actual time,
        // and the fitted register, remove, stop, parallelism and error. Calibration is now keyed
        // by estimate line (functions, services, rules): the old per-kind rows go.
        [
            "ALTER TABLE timings ADD COLUMN starts INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE timings ADD COLUMN stops INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE timings ADD COLUMN counted INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE journal ADD COLUMN estimate_ms DOUBLE PRECISION",
            "ALTER TABLE journal ADD COLUMN estimate_error_ms DOUBLE PRECISION",
            "ALTER TABLE journal ADD COLUMN actual_ms DOUBLE PRECISION",
            "ALTER TABLE calibration ADD COLUMN register_ms DOUBLE PRECISION NOT NULL DEFAULT 0",
            "ALTER TABLE calibration ADD COLUMN remove_ms DOUBLE PRECISION NOT NULL DEFAULT 0",
            "ALTER TABLE calibration ADD COLUMN stop_ms DOUBLE PRECISION NOT NULL DEFAULT 0",
            "ALTER TABLE calibration ADD COLUMN parallelism DOUBLE PRECISION NOT NULL DEFAULT 1",
            "ALTER TABLE calibration ADD COLUMN error DOUBLE PRECISION",
            "DELETE FROM calibration",
        ],
    ]

    /// Creates the schema and brings its tables to ``schemaVersion``, one process at a time
    /// (a transaction-scoped advisory lock); refuses a schema newer than this kumo knows.
    func migrate() throws(StateError) {
        let schema = self.schema
        try run { session throws(StateError) in
            try session.execute("BEGIN")
            do throws(StateError) {
                try session.execute("SELECT pg_advisory_xact_lock(\(PostgresStateStore.migrationKey), \(PostgresStateStore.lockKey(schema)))")
                try session.execute(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS " + quotedIdentifier(schema)))
                let exists = try session.query("SELECT 1 FROM information_schema.tables WHERE table_schema = \(schema) AND table_name = 'schema_info'").count == 1
                var current = 0
                if exists, let row = try session.query("SELECT COALESCE(MAX(version), 0) FROM schema_info").first {
                    current = try PostgresStateStore.decode(row, as: Int.self)
                }
                if current > PostgresStateStore.schemaVersion {
                    throw StateError("the state at \(target) has schema version \(current), newer than this kumo understands (\(PostgresStateStore.schemaVersion)); upgrade kumo")
                }
                for (index, statements) in PostgresStateStore.migrations.enumerated() where index + 1 > current {
                    for statement in statements { try session.execute(PostgresQuery(unsafeSQL: statement)) }
                    try session.execute("INSERT INTO schema_info VALUES (\(index + 1), \(stateTimestamp()))")
                }
                try session.execute("COMMIT")
            } catch {
                try? session.execute("ROLLBACK")
                throw error
            }
        }
    }

    // MARK: Connections

    /// Runs `body` on the data connection (connecting first if needed), one caller at a time.
    /// A transient failure closes the connection and runs `body` again on a new one, up to
    /// ``retries`` times with back-off; `body` must therefore be a whole transaction.
    func run<T>(_ body: (PostgresSession) throws(StateError) -> T) throws(StateError) -> T {
        mutex.lock()
        defer { mutex.unlock() }
        var delay = PostgresStateStore.firstBackoff
        var attempt = 0
        while true {
            do throws(StateError) {
                if session == nil || session?.isClosed == true { session = try PostgresSession.connect(target) }
                return try body(session!)
            } catch {
                if session?.isClosed == true {
                    session = nil
                }
                guard error.isTransient, attempt < PostgresStateStore.retries else { throw error }
                session?.close()
                session = nil
                attempt += 1
                Thread.sleep(forTimeInterval: delay)
                delay *= 2
            }
        }
    }

    /// Runs `body` in one repeatable-read, read-only transaction.
    func read<T>(_ body: (PostgresSession) throws(StateError) -> T) throws(StateError) -> T {
        try run { session throws(StateError) in
            try session.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do throws(StateError) {
                let value = try body(session)
                try session.execute("COMMIT")
                return value
            } catch {
                if !session.isClosed { try? session.execute("ROLLBACK") }
                throw error
            }
        }
    }

    // MARK: Reading

    public func snapshot(reusing known: @escaping @Sendable (String, String) -> ConfigValue?) throws(StateError) -> StateSnapshot {
        try read { session throws(StateError) in try PostgresStateStore.snapshot(session, reusing: known) }
    }

    static func snapshot(_ session: PostgresSession, reusing known: @escaping @Sendable (String, String) -> ConfigValue? = { _, _ in nil }) throws(StateError) -> StateSnapshot {
        var snapshot = StateSnapshot()
        if let row = try session.query("SELECT lineage, serial FROM meta WHERE id = 1").first {
            (snapshot.lineage, snapshot.serial) = try decode(row, as: (String, Int).self)
        }
        // Addresses and hashes first: the specs the caller already has are not sent at all.
        var stored: [SQLiteStateStore.StoredRow] = []
        var unknown: [String] = []
        for row in try session.query("SELECT address, kind, name, spec_hash, code_hash, secrets, dependencies, status, applied_serial FROM resources") {
            let (address, kind, name, specHash, codeHash, secrets, dependencies, status, appliedSerial) =
                try decode(row, as: (String, String, String, String, String?, String, String, String, Int).self)
            let reused = known(address, specHash)
            if reused == nil { unknown.append(address) }
            stored.append(.init(address: address, kind: kind, name: name, spec: "", reused: reused, specHash: specHash, codeHash: codeHash,
                                secrets: secrets, dependencies: dependencies, status: status, appliedSerial: appliedSerial))
        }
        if !unknown.isEmpty {
            var specs: [String: String] = [:]
            specs.reserveCapacity(unknown.count)
            let rows = unknown.count == stored.count
                ? try session.query("SELECT address, spec FROM resources")
                : try session.query("SELECT address, spec FROM resources WHERE address = ANY(\(unknown))")
            for row in rows {
                let (address, spec) = try decode(row, as: (String, String).self)
                specs[address] = spec
            }
            for index in stored.indices where stored[index].reused == nil { stored[index].spec = specs[stored[index].address] ?? "" }
        }
        let rows = stored
        let decoded = Parallel.ranges(rows.count, minimum: 2_000) { range in
            rows[range].map { row in Result { () throws(StateError) in try row.record() } }
        }
        snapshot.resources.reserveCapacity(rows.count)
        for batch in decoded {
            for result in batch {
                let record = try result.get()
                snapshot.resources[record.address] = record
            }
        }
        return snapshot
    }

    public func journal() throws(StateError) -> [JournalEntry] {
        try read { session throws(StateError) in try PostgresStateStore.journal(session) }
    }

    public func timings() throws(StateError) -> [ActionTiming] {
        try read { session throws(StateError) in try PostgresStateStore.timings(session) }
    }

    public func document() throws(StateError) -> StateDocument {
        try read { session throws(StateError) in
            StateDocument(snapshot: try PostgresStateStore.snapshot(session), journal: try PostgresStateStore.journal(session),
                          timings: try PostgresStateStore.timings(session))
        }
    }

    static func journal(_ session: PostgresSession) throws(StateError) -> [JournalEntry] {
        try journal(session, PostgresQuery(unsafeSQL: "SELECT \(journalColumns) FROM journal ORDER BY id"))
    }

    static let journalColumns = "id, operation, plan_hash, started_at, ended_at, outcome, serial_before, serial_after, estimate_ms, estimate_error_ms, actual_ms"

    /// The entries `query` selects (``journalColumns``, in that order).
    static func journal(_ session: PostgresSession, _ query: PostgresQuery) throws(StateError) -> [JournalEntry] {
        try session.query(query).map { row throws(StateError) in
            let (id, operation, planHash, startedAt, endedAt, outcome, serialBefore, serialAfter, estimate, estimateError, actual) =
                try decode(row, as: (Int64, String, String?, String, String?, String, Int, Int?, Double?, Double?, Double?).self)
            return JournalEntry(id: id, operation: operation, planHash: planHash, startedAt: startedAt, endedAt: endedAt, outcome: outcome,
                                serialBefore: serialBefore, serialAfter: serialAfter,
                                estimate: estimate.map { JournalEntry.Estimate(milliseconds: $0, errorMilliseconds: estimateError) }, actualMilliseconds: actual)
        }
    }

    static func timings(_ session: PostgresSession) throws(StateError) -> [ActionTiming] {
        try session.query("""
            SELECT journal_id, address, kind, action, duration_ms, started_ms, wave, wave_size, parallelism, recorded_at, starts, stops, counted
            FROM timings ORDER BY id
            """).map { row throws(StateError) in
            let (journalID, address, kind, action, duration, started, wave, waveSize, parallelism, recordedAt, starts, stops, counted) =
                try decode(row, as: (Int64?, String, String, String, Double, Double, Int, Int, Int, String?, Int, Int, Int).self)
            return ActionTiming(journalID: journalID, address: address, kind: ResourceKind(rawValue: kind) ?? .function, action: action,
                                durationMilliseconds: duration, startedMilliseconds: started, wave: wave, waveSize: waveSize,
                                parallelism: parallelism, recordedAt: recordedAt,
                                work: counted == 1 ? Work(action: action, starts: starts, stops: stops) : nil)
        }
    }

    static func decode<each Column: PostgresDecodable>(_ row: PostgresRow, as: (repeat each Column).Type) throws(StateError) -> (repeat each Column) {
        do { return try row.decode((repeat each Column).self) } catch {
            throw StateError("the state is damaged: a row of an unexpected shape (\(String(reflecting: type(of: error))))")
        }
    }

    // MARK: Writing

    @discardableResult
    public func transaction(under lock: LockInfo, _ body: (any StateChanges) throws -> Void) throws(StateError) -> Int {
        try write(under: lock) { changes in try body(changes) }
    }

    /// Runs `body` in one transaction after checking that `lock` is still held, then increases
    /// the serial (creating the lineage on the first write). Returns the new serial.
    @discardableResult
    func write(under lock: LockInfo, _ body: (PostgresChanges) throws -> Void) throws(StateError) -> Int {
        let key = PostgresStateStore.lockKey(schema)
        return try run { session throws(StateError) in
            try session.execute("BEGIN")
            do throws(StateError) {
                // The lock row, and whether the session that took it still holds the advisory
                // lock: a holder whose connection dropped has lost the lock, even if alive.
                let holder = try session.query("""
                    SELECT l.id, EXISTS (SELECT 1 FROM pg_locks p WHERE p.locktype = 'advisory' AND p.granted AND p.pid = l.backend_pid
                                         AND p.classid::text = \(String(PostgresStateStore.advisoryClass)) AND p.objid::text = \(String(UInt32(bitPattern: key))))
                    FROM lock l WHERE l.single = 1 FOR UPDATE
                    """).first.map { row throws(StateError) in try PostgresStateStore.decode(row, as: (String, Bool).self) }
                guard let holder, holder.0 == lock.id else {
                    throw StateError("the state lock \(lock.id) is no longer held (it was removed with 'kumo state unlock' or taken over); nothing was written")
                }
                guard holder.1 else {
                    throw StateError("the state lock \(lock.id) was lost: its connection to the PostgreSQL server at \(target.server) closed; nothing was written")
                }
                let now = stateTimestamp()
                let current = try session.query("SELECT serial FROM meta WHERE id = 1 FOR UPDATE").first.map { row throws(StateError) in
                    try PostgresStateStore.decode(row, as: Int.self)
                }
                let changes = PostgresChanges(session: session, serial: (current ?? 0) + 1, now: now)
                do { try body(changes) } catch {
                    if let error = error as? StateError { throw error }
                    throw StateError("cannot write the state at \(target): \(error)")
                }
                try changes.flush()
                let serial = max(changes.serial, (current ?? 0) + 1)
                if current == nil {
                    try session.execute("""
                        INSERT INTO meta (id, lineage, serial, created_at, updated_at)
                        VALUES (1, \(changes.lineage ?? UUID().uuidString.lowercased()), \(serial), \(now), \(now))
                        """)
                } else {
                    try session.execute("UPDATE meta SET serial = \(serial), updated_at = \(now), lineage = COALESCE(\(changes.lineage), lineage) WHERE id = 1")
                }
                try session.execute("COMMIT")
                return serial
            } catch {
                if !session.isClosed { try? session.execute("ROLLBACK") }
                throw error
            }
        }
    }

    public func replace(with document: StateDocument, lineage: String, under lock: LockInfo) throws(StateError) -> Int {
        try write(under: lock) { changes in
            try changes.removeAll()
            for address in document.snapshot.resources.keys.sorted() { try changes.put(document.snapshot.resources[address]!) }
            for entry in document.journal { try changes.insert(entry) }
            for timing in document.timings { try changes.record(timing) }
            changes.set(serial: document.snapshot.serial, lineage: lineage)
            try changes.flush()
            // Journal ids were given explicitly: the next apply's entry follows the last one.
            try changes.session.execute("SELECT setval(pg_get_serial_sequence('journal', 'id'), COALESCE((SELECT MAX(id) FROM journal), 0) + 1, false)")
        }
    }

    // MARK: Calibration

    public func calibrationSamples() throws(StateError) -> [Estimates.Kind: [Calibration.Sample]] {
        try read { session throws(StateError) in
            var samples: [Estimates.Kind: [Calibration.Sample]] = [:]
            for row in try session.query(PostgresQuery(unsafeSQL: CalibrationSQL.samples)) {
                let (line, actions, registrations, removals, starts, largestStarts, stops, largestStops, parallelism, span) =
                    try PostgresStateStore.decode(row, as: (String, Int, Int, Int, Int, Int, Int, Int, Int, Double).self)
                guard let kind = ResourceKind(rawValue: line) else { continue }
                samples[Estimates.Kind(kind), default: []].append(Calibration.Sample(
                    actions: actions, registrations: registrations, removals: removals, starts: starts, stops: stops,
                    largestStarts: largestStarts, largestStops: largestStops, parallelism: parallelism, spanMilliseconds: span))
            }
            return samples
        }
    }

    public func calibration() throws(StateError) -> [Estimates.Kind: Estimates.Line] {
        try read { session throws(StateError) in
            var lines: [Estimates.Kind: Estimates.Line] = [:]
            for row in try session.query(PostgresQuery(unsafeSQL: CalibrationSQL.lines)) {
                let (name, initial, each, register, remove, stop, parallelism, error, samples) =
                    try PostgresStateStore.decode(row, as: (String, Double, Double, Double, Double, Double, Double, Double?, Int).self)
                guard let kind = Estimates.Kind(rawValue: name) else { continue }
                lines[kind] = Estimates.Line(calibratedMilliseconds: initial, each: each, register: register, remove: remove, stop: stop,
                                             parallelism: parallelism, error: error, samples: samples)
            }
            return lines
        }
    }

    public func saveCalibration(_ fits: [Estimates.Kind: Calibration.Fit], under lock: LockInfo) throws(StateError) {
        try write(under: lock) { changes in
            for (kind, fit) in fits {
                let line = fit.line
                try changes.session.execute("""
                    INSERT INTO calibration (kind, init_ms, each_ms, register_ms, remove_ms, stop_ms, parallelism, samples, rmse_ms, error, fitted_at)
                    VALUES (\(kind.rawValue), \(line.initialSeconds * 1000), \(line.eachSeconds * 1000), \(line.registerSeconds * 1000),
                            \(line.removeSeconds * 1000), \(line.stopSeconds * 1000), \(line.parallelism), \(fit.samples), \(fit.rmse * 1000),
                            \(line.error), \(changes.now))
                    ON CONFLICT (kind) DO UPDATE SET init_ms = EXCLUDED.init_ms, each_ms = EXCLUDED.each_ms, register_ms = EXCLUDED.register_ms,
                        remove_ms = EXCLUDED.remove_ms, stop_ms = EXCLUDED.stop_ms, parallelism = EXCLUDED.parallelism, samples = EXCLUDED.samples,
                        rmse_ms = EXCLUDED.rmse_ms, error = EXCLUDED.error, fitted_at = EXCLUDED.fitted_at
                    """)
            }
        }
    }

    public func estimateHistory(limit: Int) throws(StateError) -> [JournalEntry] {
        try read { session throws(StateError) in
            // An integer, so it is safe to splice into the statement.
            try PostgresStateStore.journal(session, PostgresQuery(
                unsafeSQL: "SELECT \(PostgresStateStore.journalColumns) FROM journal WHERE \(CalibrationSQL.historyFilter) ORDER BY id DESC LIMIT \(max(0, limit))"))
        }
    }
}

/// What one PostgreSQL write transaction may do; the store bumps the serial when it commits.
///
/// Resources and timings are sent in batches (one statement per thousand rows, not one per
/// row), flushed before any statement that could see them and before the commit.
final class PostgresChanges: StateChanges {
    let session: PostgresSession
    let now: String
    private(set) var serial: Int
    private(set) var lineage: String?
    private var resources: [ResourceRecord] = []
    private var timings: [ActionTiming] = []
    static let batch = 1_000

    init(session: PostgresSession, serial: Int, now: String) {
        self.session = session
        self.serial = serial
        self.now = now
    }

    func put(_ record: ResourceRecord) throws {
        resources.append(record)
        if resources.count >= PostgresChanges.batch { try flush() }
    }

    func remove(_ address: String) throws {
        try flush()
        try session.execute("DELETE FROM resources WHERE address = \(address)")
    }

    func removeAll() throws {
        try flush()
        try session.execute("DELETE FROM timings")
        try session.execute("DELETE FROM journal")
        try session.execute("DELETE FROM resources")
    }

    /// Makes this write commit with `serial` (when higher than the next one) and `lineage`.
    func set(serial: Int, lineage: String) {
        self.serial = max(self.serial, serial)
        self.lineage = lineage
    }

    func beginJournal(operation: String, planHash: String?, serialBefore: Int, estimate: JournalEntry.Estimate?) throws -> Int64 {
        try flush()
        let row = try session.query("""
            INSERT INTO journal (operation, plan_hash, started_at, outcome, serial_before, estimate_ms, estimate_error_ms)
            VALUES (\(operation), \(planHash), \(now), 'running', \(serialBefore), \(estimate?.milliseconds), \(estimate?.errorMilliseconds))
            RETURNING id
            """).first
        guard let row else { throw StateError("the state did not return the new journal entry's id") }
        return try PostgresStateStore.decode(row, as: Int64.self)
    }

    func endJournal(_ id: Int64, outcome: String, actualMilliseconds: Double?) throws {
        try flush()
        try session.execute("UPDATE journal SET ended_at = \(now), outcome = \(outcome), serial_after = \(serial), actual_ms = \(actualMilliseconds) WHERE id = \(id)")
    }

    func insert(_ entry: JournalEntry) throws {
        try flush()
        try session.execute("""
            INSERT INTO journal (id, operation, plan_hash, started_at, ended_at, outcome, serial_before, serial_after, estimate_ms, estimate_error_ms, actual_ms)
            VALUES (\(entry.id), \(entry.operation), \(entry.planHash), \(entry.startedAt), \(entry.endedAt), \(entry.outcome), \(entry.serialBefore), \(entry.serialAfter),
                    \(entry.estimate?.milliseconds), \(entry.estimate?.errorMilliseconds), \(entry.actualMilliseconds))
            """)
    }

    func record(_ timing: ActionTiming) throws {
        timings.append(timing)
        if timings.count >= PostgresChanges.batch { try flush() }
    }

    /// Sends the buffered resources and timings.
    func flush() throws(StateError) {
        if !resources.isEmpty {
            let batch = resources
            resources = []
            let secrets = batch.map { record in ConfigValue.object(record.secrets.keys.sorted().map { ($0, .string(record.secrets[$0]!)) }).compactJSON() }
            try session.execute("""
                INSERT INTO resources (address, kind, name, spec, spec_hash, code_hash, secrets, dependencies, status, applied_serial)
                SELECT address, kind, name, spec, spec_hash, CASE WHEN has_code THEN code_hash END, secrets, dependencies, status, applied_serial
                FROM unnest(\(batch.map(\.address)), \(batch.map(\.kind.rawValue)), \(batch.map(\.name)), \(batch.map { $0.spec.compactJSON() }),
                            \(batch.map(\.specHash)), \(batch.map { $0.codeHash ?? "" }), \(batch.map { $0.codeHash != nil }), \(secrets),
                            \(batch.map { ConfigValue.array($0.dependencies.map { .string($0) }).compactJSON() }), \(batch.map(\.status.rawValue)),
                            \(batch.map(\.appliedSerial)))
                    AS t(address, kind, name, spec, spec_hash, code_hash, has_code, secrets, dependencies, status, applied_serial)
                ON CONFLICT (address) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, spec = EXCLUDED.spec, spec_hash = EXCLUDED.spec_hash,
                    code_hash = EXCLUDED.code_hash, secrets = EXCLUDED.secrets, dependencies = EXCLUDED.dependencies, status = EXCLUDED.status,
                    applied_serial = EXCLUDED.applied_serial
                """)
        }
        if !timings.isEmpty {
            let batch = timings
            timings = []
            try session.execute("""
                INSERT INTO timings (journal_id, address, kind, action, duration_ms, started_ms, wave, wave_size, parallelism, recorded_at, starts, stops, counted)
                SELECT NULLIF(journal_id, 0), address, kind, action, duration_ms, started_ms, wave, wave_size, parallelism, recorded_at, starts, stops, counted
                FROM unnest(\(batch.map { $0.journalID ?? 0 }), \(batch.map(\.address)), \(batch.map(\.kind.rawValue)), \(batch.map(\.action)),
                            \(batch.map(\.durationMilliseconds)), \(batch.map(\.startedMilliseconds)), \(batch.map(\.wave)), \(batch.map(\.waveSize)),
                            \(batch.map(\.parallelism)), \(batch.map { $0.recordedAt ?? now }), \(batch.map { Int32($0.work?.starts ?? 0) }),
                            \(batch.map { Int32($0.work?.stops ?? 0) }), \(batch.map { Int32($0.work == nil ? 0 : 1) }))
                    AS t(journal_id, address, kind, action, duration_ms, started_ms, wave, wave_size, parallelism, recorded_at, starts, stops, counted)
                """)
        }
    }
}
