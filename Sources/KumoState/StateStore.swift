import Foundation
import GRDB
import KumoManifest
import KumoPlan

/// The SQLite state store: one file (WAL) holding the lineage and serial, the applied
/// resources, the lock, the apply journal and per-action timings.
///
/// Reads see one consistent snapshot. Every write happens in one transaction, under the lock,
/// and increases the serial, so a process killed in the middle of a write leaves the state
/// as it was before that write, never half of it.
public final class SQLiteStateStore: StateStore, Sendable {
    public static let schemaVersion = 3

    public let path: String
    let queue: DatabaseQueue

    public var location: String { path }

    /// Opens the state at `path`. Without `create`, a missing file is nil (an empty state),
    /// so commands that only read never create one.
    ///
    /// A file that exists but holds 0 bytes (truncated by a crash or a bad copy) is refused,
    /// unless `acceptEmptyFile` (`--force`): SQLite would read it as an empty database, so the
    /// lost state would silently become an empty one. Accepted, it is an empty state: nil
    /// without `create` (nothing written), initialised as a new state with it.
    public static func open(path: String, create: Bool, acceptEmptyFile: Bool = false) throws(StateError) -> SQLiteStateStore? {
        if isEmptyFile(path) {
            guard acceptEmptyFile else { throw emptyFileError(path) }
            if !create { return nil }
        }
        if !create && !FileManager.default.fileExists(atPath: path) { return nil }
        return try SQLiteStateStore(path: path)
    }

    /// Throws the refusal of ``open(path:create:acceptEmptyFile:)`` for a 0-byte file, for
    /// commands that check before they do anything else (nothing is opened or written).
    public static func refuseEmptyFile(_ path: String) throws(StateError) {
        if isEmptyFile(path) { throw emptyFileError(path) }
    }

    /// A regular file of 0 bytes at `path` (not a missing one).
    public static func isEmptyFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && info.st_size == 0
    }

    static func emptyFileError(_ path: String) -> StateError {
        StateError("the state file '\(path)' is empty (0 bytes), probably truncated by a crash or a bad copy: restore it from a copy ('kumo state push --force FILE' takes one from 'kumo state pull'), or run again with --force to use it as an empty state")
    }

    init(path: String) throws(StateError) {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw StateError("cannot create the state directory '\(directory)': \(error.localizedDescription)")
            }
        }
        var config = Configuration()
        config.journalMode = .wal
        config.busyMode = .timeout(15)
        config.foreignKeysEnabled = true
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            try SQLiteStateStore.migrator.migrate(queue)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw StateError("'\(path)' is not a Kumo state file (not an SQLite database)")
        } catch {
            throw StateError("cannot open the state at '\(path)': \(error)")
        }
        chmod(path, 0o600)
        do {
            let newer = try queue.read { db in try Int.fetchOne(db, sql: "SELECT MAX(version) FROM schema_info") ?? 0 }
            if newer > SQLiteStateStore.schemaVersion {
                throw StateError("the state at '\(path)' has schema version \(newer), newer than this kumo understands (\(SQLiteStateStore.schemaVersion)); upgrade kumo")
            }
        } catch let error as StateError { throw error } catch {
            throw StateError("cannot read the state at '\(path)': \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE schema_info (version INTEGER NOT NULL, applied_at TEXT NOT NULL);
                INSERT INTO schema_info VALUES (1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
                CREATE TABLE meta (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    lineage TEXT NOT NULL,
                    serial INTEGER NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                );
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
                    applied_serial INTEGER NOT NULL
                );
                CREATE TABLE journal (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    operation TEXT NOT NULL,
                    plan_hash TEXT,
                    started_at TEXT NOT NULL,
                    ended_at TEXT,
                    outcome TEXT NOT NULL,
                    serial_before INTEGER NOT NULL,
                    serial_after INTEGER
                );
                CREATE TABLE timings (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    journal_id INTEGER REFERENCES journal(id) ON DELETE CASCADE,
                    address TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    action TEXT NOT NULL,
                    duration_ms REAL NOT NULL,
                    wave INTEGER NOT NULL,
                    wave_size INTEGER NOT NULL,
                    parallelism INTEGER NOT NULL,
                    recorded_at TEXT NOT NULL
                );
                CREATE INDEX timings_kind ON timings(kind, action);
                CREATE TABLE lock (
                    single INTEGER PRIMARY KEY CHECK (single = 1),
                    id TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    host TEXT NOT NULL,
                    user TEXT NOT NULL,
                    since TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2") { db in
            // When each action started after its wave began, so a wave's length can be rebuilt,
            // and the coefficients `kumo calibrate` fits.
            try db.execute(sql: """
                INSERT INTO schema_info VALUES (2, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
                ALTER TABLE timings ADD COLUMN started_ms REAL NOT NULL DEFAULT 0;
                CREATE TABLE calibration (
                    kind TEXT PRIMARY KEY,
                    init_ms REAL NOT NULL,
                    each_ms REAL NOT NULL,
                    samples INTEGER NOT NULL,
                    rmse_ms REAL NOT NULL,
                    fitted_at TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v3") { db in
            // The work each action did (processes started and stopped), so calibration fits the
            // time per process instead of per resource; each apply's estimate and actual time,
            // for `kumo calibrate --report`; the fitted register, stop, parallelism and error.
            // Timings recorded before (counted = 0) lack the counts and are not fitted.
            try db.execute(sql: """
                INSERT INTO schema_info VALUES (3, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
                ALTER TABLE timings ADD COLUMN starts INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE timings ADD COLUMN stops INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE timings ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE journal ADD COLUMN estimate_ms REAL;
                ALTER TABLE journal ADD COLUMN estimate_error_ms REAL;
                ALTER TABLE journal ADD COLUMN actual_ms REAL;
                ALTER TABLE calibration ADD COLUMN register_ms REAL NOT NULL DEFAULT 0;
                ALTER TABLE calibration ADD COLUMN remove_ms REAL NOT NULL DEFAULT 0;
                ALTER TABLE calibration ADD COLUMN stop_ms REAL NOT NULL DEFAULT 0;
                ALTER TABLE calibration ADD COLUMN parallelism REAL NOT NULL DEFAULT 1;
                ALTER TABLE calibration ADD COLUMN error REAL;
                DELETE FROM calibration;
                """)
        }
        return migrator
    }

    // MARK: Reading

    public func snapshot(reusing known: @escaping @Sendable (String, String) -> ConfigValue?) throws(StateError) -> StateSnapshot {
        try read { db in try SQLiteStateStore.snapshot(db, reusing: known) }
    }

    static func snapshot(_ db: Database, reusing known: @escaping @Sendable (String, String) -> ConfigValue? = { _, _ in nil }) throws -> StateSnapshot {
        var snapshot = StateSnapshot()
        if let row = try Row.fetchOne(db, sql: "SELECT lineage, serial FROM meta WHERE id = 1") {
            snapshot.lineage = row[0]
            snapshot.serial = row[1]
        }
        // Read the rows as text, then decode the JSON columns on every core.
        var rows: [StoredRow] = []
        let cursor = try Row.fetchCursor(db, sql: "SELECT address, kind, name, spec, spec_hash, code_hash, secrets, dependencies, status, applied_serial FROM resources")
        while let row = try cursor.next() {
            let address: String = row[0], specHash: String = row[4]
            // A spec the caller already has is neither copied out of SQLite nor decoded.
            let reused = known(address, specHash)
            rows.append(StoredRow(address: address, kind: row[1], name: row[2], spec: reused == nil ? row[3] : "", reused: reused, specHash: specHash,
                                  codeHash: row[5], secrets: row[6], dependencies: row[7], status: row[8], appliedSerial: row[9]))
        }
        let stored = rows
        let decoded = Parallel.ranges(stored.count, minimum: 2_000) { range in
            stored[range].map { row in Result { () throws(StateError) in try row.record() } }
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

    /// One `resources` row before its JSON columns are decoded.
    struct StoredRow: Sendable {
        var address, kind, name, spec: String
        var reused: ConfigValue?
        var specHash: String
        var codeHash: String?
        var secrets, dependencies, status: String
        var appliedSerial: Int

        func record() throws(StateError) -> ResourceRecord {
            func damaged(_ what: String) -> StateError { StateError("the state is damaged: resource '\(address)' has an invalid \(what)") }
            guard let kind = ResourceKind(rawValue: kind) else { throw damaged("kind") }
            guard let status = ResourceRecord.Status(rawValue: status) else { throw damaged("status") }
            guard let spec = reused ?? (try? ConfigValue(json: spec)) else { throw damaged("spec") }
            guard case .object(let secretPairs)? = secrets == "{}" ? .object([]) : try? ConfigValue(json: secrets) else { throw damaged("secrets") }
            guard case .array(let deps)? = dependencies == "[]" ? .array([]) : try? ConfigValue(json: dependencies) else { throw damaged("dependencies") }
            var secretHashes: [String: String] = [:]
            for (name, value) in secretPairs { secretHashes[name] = value.stringValue }
            return ResourceRecord(
                address: address, kind: kind, name: name, spec: spec, specHash: specHash, codeHash: codeHash,
                secrets: secretHashes, dependencies: deps.compactMap(\.stringValue), status: status, appliedSerial: appliedSerial)
        }
    }

    public func journal() throws(StateError) -> [JournalEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM journal ORDER BY id").map(JournalEntry.init(row:))
        }
    }

    public func timings() throws(StateError) -> [ActionTiming] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM timings ORDER BY id").map(ActionTiming.init(row:))
        }
    }

    public func document() throws(StateError) -> StateDocument {
        try read { db in
            StateDocument(
                snapshot: try SQLiteStateStore.snapshot(db),
                journal: try Row.fetchAll(db, sql: "SELECT * FROM journal ORDER BY id").map(JournalEntry.init(row:)),
                timings: try Row.fetchAll(db, sql: "SELECT * FROM timings ORDER BY id").map(ActionTiming.init(row:)))
        }
    }

    public func replace(with document: StateDocument, lineage: String, under lock: LockInfo) throws(StateError) -> Int {
        let serial = try write(under: lock) { writer in
            try writer.removeAll()
            for address in document.snapshot.resources.keys.sorted() { try writer.put(document.snapshot.resources[address]!) }
            for entry in document.journal { try writer.insert(entry) }
            for timing in document.timings { try writer.record(timing) }
            writer.set(serial: document.snapshot.serial, lineage: lineage)
        }
        // A whole state went through the write-ahead log: fold it into the database now, so
        // readers do not search a large log on every lookup.
        try? queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        return serial
    }

    func read<T>(_ body: (Database) throws -> T) throws(StateError) -> T {
        do { return try queue.read(body) } catch let error as StateError { throw error } catch {
            throw StateError("cannot read the state at '\(path)': \(error)")
        }
    }

    // MARK: Writing

    @discardableResult
    public func transaction(under lock: LockInfo, _ body: (any StateChanges) throws -> Void) throws(StateError) -> Int {
        try write(under: lock) { writer in try body(writer) }
    }

    /// Runs `body` in one immediate transaction after checking that `lock` is still held, then
    /// increases the serial (creating the lineage on the first write). Returns the new serial.
    @discardableResult
    public func write(under lock: LockInfo, _ body: (StateWriter) throws -> Void) throws(StateError) -> Int {
        var serial = 0
        do {
            try queue.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    let holder = try String.fetchOne(db, sql: "SELECT id FROM lock WHERE single = 1")
                    guard holder == lock.id else {
                        throw StateError("the state lock \(lock.id) is no longer held (it was removed with 'kumo state unlock'); nothing was written")
                    }
                    let now = stateTimestamp()
                    let current = try Row.fetchOne(db, sql: "SELECT serial FROM meta WHERE id = 1")
                    let writer = StateWriter(db: db, serial: (current?["serial"] as Int? ?? 0) + 1, now: now)
                    try body(writer)
                    serial = max(writer.serial, (current?["serial"] as Int? ?? 0) + 1)
                    if current == nil {
                        try db.execute(sql: "INSERT INTO meta (id, lineage, serial, created_at, updated_at) VALUES (1, ?, ?, ?, ?)",
                                       arguments: [writer.lineage ?? UUID().uuidString.lowercased(), serial, now, now])
                    } else {
                        try db.execute(sql: "UPDATE meta SET serial = ?, updated_at = ?, lineage = COALESCE(?, lineage) WHERE id = 1",
                                       arguments: [serial, now, writer.lineage])
                    }
                    return .commit
                }
            }
        } catch let error as StateError { throw error } catch {
            throw StateError("cannot write the state at '\(path)': \(error)")
        }
        return serial
    }

}

/// The time as the state records it: ISO 8601 with milliseconds, UTC.
func stateTimestamp(_ date: Date = Date()) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: date)
}

/// What one write transaction may do; the store bumps the serial when it commits.
public final class StateWriter: StateChanges {
    let db: Database
    let now: String
    /// The serial this write will commit with.
    public internal(set) var serial: Int
    var lineage: String?

    init(db: Database, serial: Int, now: String) {
        self.db = db
        self.serial = serial
        self.now = now
    }

    public func put(_ record: ResourceRecord) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO resources (address, kind, name, spec, spec_hash, code_hash, secrets, dependencies, status, applied_serial)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let secrets = ConfigValue.object(record.secrets.keys.sorted().map { ($0, .string(record.secrets[$0]!)) })
        try statement.execute(arguments: [
            record.address, record.kind.rawValue, record.name, record.spec.compactJSON(), record.specHash, record.codeHash,
            secrets.compactJSON(), ConfigValue.array(record.dependencies.map { .string($0) }).compactJSON(),
            record.status.rawValue, record.appliedSerial,
        ])
    }

    public func remove(_ address: String) throws {
        try db.execute(sql: "DELETE FROM resources WHERE address = ?", arguments: [address])
    }

    public func removeAll() throws {
        try db.execute(sql: "DELETE FROM timings; DELETE FROM journal; DELETE FROM resources;")
    }

    /// Makes this write commit with `serial` (when higher than the next one) and `lineage`.
    public func set(serial: Int, lineage: String) {
        self.serial = max(self.serial, serial)
        self.lineage = lineage
    }

    /// Opens an apply journal entry; returns its id.
    public func beginJournal(operation: String, planHash: String?, serialBefore: Int, estimate: JournalEntry.Estimate?) throws -> Int64 {
        try db.execute(sql: "INSERT INTO journal (operation, plan_hash, started_at, outcome, serial_before, estimate_ms, estimate_error_ms) VALUES (?, ?, ?, 'running', ?, ?, ?)",
                       arguments: [operation, planHash, now, serialBefore, estimate?.milliseconds, estimate?.errorMilliseconds])
        return db.lastInsertedRowID
    }

    public func endJournal(_ id: Int64, outcome: String, actualMilliseconds: Double?) throws {
        try db.execute(sql: "UPDATE journal SET ended_at = ?, outcome = ?, serial_after = ?, actual_ms = ? WHERE id = ?",
                       arguments: [now, outcome, serial, actualMilliseconds, id])
    }

    public func insert(_ entry: JournalEntry) throws {
        try db.execute(sql: """
            INSERT INTO journal (id, operation, plan_hash, started_at, ended_at, outcome, serial_before, serial_after, estimate_ms, estimate_error_ms, actual_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [entry.id, entry.operation, entry.planHash, entry.startedAt, entry.endedAt, entry.outcome, entry.serialBefore, entry.serialAfter,
                             entry.estimate?.milliseconds, entry.estimate?.errorMilliseconds, entry.actualMilliseconds])
    }

    public func record(_ timing: ActionTiming) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO timings (journal_id, address, kind, action, duration_ms, started_ms, wave, wave_size, parallelism, recorded_at, starts, stops, counted)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        try statement.execute(arguments: [timing.journalID, timing.address, timing.kind.rawValue, timing.action, timing.durationMilliseconds,
                                          timing.startedMilliseconds, timing.wave, timing.waveSize, timing.parallelism, timing.recordedAt ?? now,
                                          timing.work?.starts ?? 0, timing.work?.stops ?? 0, timing.work == nil ? 0 : 1])
    }
}

public struct JournalEntry: Sendable, Equatable {
    public var id: Int64
    public var operation: String
    public var planHash: String?
    public var startedAt: String
    public var endedAt: String?
    /// `running` until it ends: `succeeded`, `failed` or `interrupted`.
    public var outcome: String
    public var serialBefore: Int
    public var serialAfter: Int?
    /// The plan's rollout estimate, and the time the apply took.
    public var estimate: Estimate?
    public var actualMilliseconds: Double?

    public struct Estimate: Sendable, Equatable {
        public var milliseconds: Double
        /// One standard error, when the plan used calibrated coefficients.
        public var errorMilliseconds: Double?

        public init(milliseconds: Double, errorMilliseconds: Double?) {
            self.milliseconds = milliseconds
            self.errorMilliseconds = errorMilliseconds
        }

        public init(_ rollout: RolloutEstimate) {
            self.init(milliseconds: rollout.seconds * 1000, errorMilliseconds: rollout.error.map { $0 * 1000 })
        }
    }

    public init(id: Int64, operation: String, planHash: String?, startedAt: String, endedAt: String?, outcome: String, serialBefore: Int, serialAfter: Int?,
                estimate: Estimate? = nil, actualMilliseconds: Double? = nil) {
        self.id = id
        self.operation = operation
        self.planHash = planHash
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.outcome = outcome
        self.serialBefore = serialBefore
        self.serialAfter = serialAfter
        self.estimate = estimate
        self.actualMilliseconds = actualMilliseconds
    }

    init(row: Row) {
        let estimate = (row["estimate_ms"] as Double?).map { Estimate(milliseconds: $0, errorMilliseconds: row["estimate_error_ms"]) }
        self.init(id: row["id"], operation: row["operation"], planHash: row["plan_hash"], startedAt: row["started_at"], endedAt: row["ended_at"],
                  outcome: row["outcome"], serialBefore: row["serial_before"], serialAfter: row["serial_after"],
                  estimate: estimate, actualMilliseconds: row["actual_ms"])
    }
}

/// How long one action of an apply took, with the context calibration needs.
public struct ActionTiming: Sendable, Equatable {
    public var journalID: Int64?
    public var address: String
    public var kind: ResourceKind
    public var action: String
    public var durationMilliseconds: Double
    /// When the action started, after its wave began.
    public var startedMilliseconds: Double
    public var wave: Int
    /// Actions of this kind in the same wave: the n, m or k of the models.
    public var waveSize: Int
    public var parallelism: Int
    public var recordedAt: String?
    /// The processes the action started and stopped; nil for timings recorded before kumo
    /// counted them (calibration leaves those out).
    public var work: Work?

    public init(journalID: Int64?, address: String, kind: ResourceKind, action: String, durationMilliseconds: Double, startedMilliseconds: Double = 0, wave: Int, waveSize: Int, parallelism: Int,
                recordedAt: String? = nil, work: Work? = nil) {
        self.journalID = journalID
        self.address = address
        self.kind = kind
        self.action = action
        self.durationMilliseconds = durationMilliseconds
        self.startedMilliseconds = startedMilliseconds
        self.wave = wave
        self.waveSize = waveSize
        self.parallelism = parallelism
        self.recordedAt = recordedAt
        self.work = work
    }

    init(row: Row) {
        let counted: Bool = row["counted"]
        self.init(journalID: row["journal_id"], address: row["address"], kind: ResourceKind(rawValue: row["kind"]) ?? .function,
                  action: row["action"], durationMilliseconds: row["duration_ms"], startedMilliseconds: row["started_ms"], wave: row["wave"], waveSize: row["wave_size"],
                  parallelism: row["parallelism"], recordedAt: row["recorded_at"],
                  work: counted ? Work(action: row["action"], starts: row["starts"], stops: row["stops"]) : nil)
    }
}

public struct StateError: Error, CustomStringConvertible, Equatable {
    public var description: String
    /// A failure that trying again may cure (a PostgreSQL connection reset, a serialization
    /// failure); the store retries these a few times before reporting them.
    public var isTransient = false
    public init(_ description: String) { self.description = description }
}
