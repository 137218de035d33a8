import Foundation
import KumoManifest
import KumoPlan
import KumoState
import KumoTestSupport
import Testing

/// The state store's semantics, one suite run against both backends: SQLite, and PostgreSQL
/// when `scripts/test` started a server (see ``StateBackend``).
@Suite(.serialized) struct StateStoreTests {
    func shopState(lineage: String = "11111111-2222-3333-4444-555555555555") throws -> StateSnapshot {
        let desired = try Support.desired("shop", environment: [:])
        let plan = try Planner().plan(desired: desired, current: .empty)
        return StateSnapshot.empty.applying(plan, resources: desired.resources, secrets: [:], lineage: lineage)
    }

    @Test(arguments: StateBackend.available) func readingAMissingStateCreatesNothing(backend: StateBackend) throws {
        let dir = try Support.temporaryDirectory()
        let location = backend.newLocation(in: dir + "/.kumo")
        #expect(try StateLocation(location).open(create: false) == nil)
        #expect(!FileManager.default.fileExists(atPath: dir + "/.kumo"))
        // Nor does a command that only reads.
        let listed = try Support.kumo(["state", "list", "--state", location])
        #expect(listed.status == 0 && listed.stdout.isEmpty, "\(listed.stderr)")
        #expect(try StateLocation(location).open(create: false) == nil)
    }

    /// A file that exists but holds 0 bytes is not an empty state (issue 15.9): it is refused
    /// unless accepted, and accepted it is read as empty without being written.
    @Test func theStoreRefusesAZeroByteFileUnlessAccepted() throws {
        let dir = try Support.temporaryDirectory()
        let path = dir + "/state.db"
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        for create in [false, true] {
            let error = #expect(throws: StateError.self) { try SQLiteStateStore.open(path: path, create: create) }
            #expect(error?.description.contains("'\(path)' is empty (0 bytes)") == true)
        }
        // Accepted for reading: an empty state, and the file stays as it is.
        #expect(try SQLiteStateStore.open(path: path, create: false, acceptEmptyFile: true) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["state.db"])
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 0)
        // Accepted for writing: a new state.
        let store = try #require(try SQLiteStateStore.open(path: path, create: true, acceptEmptyFile: true))
        let lock = try store.lock(operation: "test")
        try store.write(under: lock) { _ in }
        #expect(try store.snapshot().serial == 1)
        // A missing file is still an empty state, and a real one opens as before.
        #expect(try SQLiteStateStore.open(path: dir + "/missing.db", create: false) == nil)
        #expect(try SQLiteStateStore.open(path: path, create: false) != nil)
    }

    @Test(arguments: StateBackend.available) func writesBumpTheSerialAndRoundTrip(backend: StateBackend) throws {
        let dir = try Support.temporaryDirectory()
        let store = try StateBackend.open(backend.newLocation(in: dir))
        let snapshot = try shopState()
        let lock = try store.lock(operation: "test", timeout: 0)
        let serial = try store.transaction(under: lock) { writer in
            for record in snapshot.resources.values { try writer.put(record) }
        }
        #expect(serial == 1)
        let read = try store.snapshot()
        #expect(read.resources == snapshot.resources)
        #expect(read.lineage != nil)
        let second = try store.transaction(under: lock) { try $0.remove("rule.big-order") }
        #expect(second == 2)
        #expect(try store.snapshot().resources.count == snapshot.resources.count - 1)
        #expect(try store.snapshot().lineage == read.lineage)
        try store.unlock(lock)
        // A write without the lock is refused and changes nothing.
        #expect(throws: StateError.self) { try store.transaction(under: lock) { try $0.remove("service.api") } }
        #expect(try store.snapshot().serial == 2)
        #expect(try store.snapshot().resources["service.api"] != nil)
        // A failing body commits nothing.
        let again = try store.lock(operation: "test", timeout: 0)
        defer { try? store.unlock(again) }
        struct Boom: Error {}
        #expect(throws: (any Error).self) { try store.transaction(under: again) { try $0.remove("service.api"); throw Boom() } }
        #expect(try store.snapshot().serial == 2)
        #expect(try store.snapshot().resources["service.api"] != nil)
    }

    /// The journal and timings an apply records (its estimate and actual time, each action's
    /// start offset and work), read back and through `document()`; the samples `kumo
    /// calibrate` fits from them (uncounted timings left out, scaling with rules); a fitted line
    /// saved and read back whole; and `estimateHistory`.
    @Test(arguments: StateBackend.available) func journalTimingsAndCalibrationRoundTrip(backend: StateBackend) throws {
        let dir = try Support.temporaryDirectory()
        let store = try StateBackend.open(backend.newLocation(in: dir))
        let lock = try store.lock(operation: "apply", timeout: 0)
        defer { try? store.unlock(lock) }
        var journal: Int64 = 0
        let estimate = JournalEntry.Estimate(milliseconds: 1234.5, errorMilliseconds: 98.25)
        try store.transaction(under: lock) { writer in journal = try writer.beginJournal(operation: "apply", planHash: "abc", serialBefore: 0, estimate: estimate) }
        // Wave 1: two functions starting one worker each, and a scaling policy. Wave 2: three
        // functions starting two workers, one delete stopping two, and one timing recorded
        // without counts (as before schema 3), which calibration leaves out.
        var recorded: [ActionTiming] = []
        func timing(_ address: String, _ kind: ResourceKind, _ action: String, wave: Int, index: Int, work: Work?) -> ActionTiming {
            ActionTiming(journalID: journal, address: address, kind: kind, action: action, durationMilliseconds: 100.25 * Double(wave) + Double(index),
                         startedMilliseconds: 1.5 + 10 * Double(index), wave: wave, waveSize: wave == 1 ? 3 : 5, parallelism: 4, work: work)
        }
        for index in 0..<2 { recorded.append(timing("function.a\(index)", .function, "create", wave: 1, index: index, work: Work(action: "create", starts: 1, stops: 0))) }
        recorded.append(timing("scaling.s", .scaling, "create", wave: 1, index: 2, work: Work(action: "create", starts: 0, stops: 0)))
        for index in 0..<3 { recorded.append(timing("function.b\(index)", .function, "create", wave: 2, index: index, work: Work(action: "create", starts: 2, stops: 0))) }
        recorded.append(timing("function.old", .function, "delete", wave: 2, index: 3, work: Work(action: "delete", starts: 0, stops: 2)))
        recorded.append(timing("function.uncounted", .function, "create", wave: 2, index: 40, work: nil))
        for item in recorded { try store.transaction(under: lock) { writer in try writer.record(item) } }
        let serial = try store.transaction(under: lock) { writer in try writer.endJournal(journal, outcome: "succeeded", actualMilliseconds: 1500.75) }

        let entries = try store.journal()
        #expect(entries.count == 1 && entries[0].id == journal && entries[0].outcome == "succeeded" && entries[0].serialAfter == serial && entries[0].planHash == "abc")
        #expect(entries.first?.estimate == estimate && entries.first?.actualMilliseconds == 1500.75)
        let timings = try store.timings()
        #expect(timings.map(\.startedMilliseconds) == recorded.map(\.startedMilliseconds))
        #expect(timings.map(\.work) == recorded.map(\.work))
        #expect(timings.map { $0.work?.starts } == [1, 1, 0, 2, 2, 2, 0, nil] && timings.map { $0.work?.stops } == [0, 0, 0, 0, 0, 0, 2, nil])
        #expect(timings.allSatisfy { $0.journalID == journal && $0.recordedAt != nil })
        #expect(timings.map { var t = $0; t.recordedAt = nil; return t } == recorded)
        let document = try store.document()
        #expect(document.journal == entries && document.timings == timings && document.snapshot.serial == serial)

        let samples = try store.calibrationSamples()
        #expect(samples.keys.sorted { $0.rawValue < $1.rawValue } == [.functions, .rules])
        #expect(samples[.functions] == [
            Calibration.Sample(load: Estimator.LineLoad(actions: 2, registrations: 2, removals: 0, starts: 2, stops: 0, largestStarts: 1, largestStops: 0),
                               parallelism: 4, seconds: (1.5 + 10 + 100.25 + 1) / 1000),
            Calibration.Sample(load: Estimator.LineLoad(actions: 4, registrations: 3, removals: 1, starts: 6, stops: 2, largestStarts: 2, largestStops: 2),
                               parallelism: 4, seconds: (1.5 + 30 + 200.5 + 3) / 1000),
        ])
        #expect(samples[.rules] == [Calibration.Sample(load: Estimator.LineLoad(actions: 1, registrations: 1), parallelism: 4, seconds: (1.5 + 20 + 100.25 + 2) / 1000)])

        // A fit saved and read back with every coefficient (synthetic waves: enough to fit).
        let truth = Estimates.Line(initial: .init(milliseconds: 10), each: .init(milliseconds: 150), register: .init(milliseconds: 5), remove: .init(milliseconds: 3),
                                   stop: .init(milliseconds: 20), parallelism: 2, source: .calibrated)
        let waves = [(1, 0, 1, 0), (4, 0, 4, 0), (8, 2, 8, 2), (16, 4, 16, 8), (2, 2, 0, 4), (32, 0, 32, 0)].flatMap { (n, d, starts, stops) in
            [1, 4].map { p in
                let load = Estimator.LineLoad(actions: n + d, registrations: n, removals: d, starts: starts, stops: stops, largestStarts: starts > 0 ? 1 : 0, largestStops: stops > 0 ? 2 : 0)
                return Calibration.Sample(load: load, parallelism: p, seconds: Estimator.seconds(truth, kind: .functions, load: load, parallelism: p))
            }
        }
        let fit = try #require(Calibration.fit(waves, kind: .functions, refining: Estimates.builtIn.functions))
        try store.saveCalibration([.functions: fit], under: lock)
        var expected = fit.line
        expected.source = .calibrated
        expected.samples = fit.samples
        #expect(try store.calibration() == [.functions: expected])
        // Saving again replaces the line.
        try store.saveCalibration([.functions: fit], under: lock)
        #expect(try store.calibration().count == 1)

        // History: succeeded entries with an estimate and an actual time, newest first.
        try store.transaction(under: lock) { writer in
            let failed = try writer.beginJournal(operation: "apply", planHash: nil, serialBefore: serial, estimate: estimate)
            try writer.endJournal(failed, outcome: "failed", actualMilliseconds: 10)
            let second = try writer.beginJournal(operation: "destroy", planHash: nil, serialBefore: serial, estimate: JournalEntry.Estimate(milliseconds: 50, errorMilliseconds: nil))
            try writer.endJournal(second, outcome: "succeeded", actualMilliseconds: 60)
        }
        let history = try store.estimateHistory(limit: 5)
        #expect(history.map(\.operation) == ["destroy", "apply"] && history.first?.estimate?.errorMilliseconds == nil && history.last?.estimate == estimate)
        #expect(try store.estimateHistory(limit: 1).map(\.actualMilliseconds) == [60])
    }

    @Test(arguments: StateBackend.available) func pushAndPullRoundTripThroughTheCLI(backend: StateBackend) throws {
        let dir = try Support.temporaryDirectory()
        let state = backend.newLocation(in: dir)
        try Support.write(try shopState(), to: state)
        let pulled = try Support.kumo(["state", "pull", "--state", state])
        #expect(pulled.status == 0, "\(pulled.stderr)")
        let document = try StateDocument(json: pulled.stdout)
        #expect(document.snapshot == (try StateLocation(state).open(create: false)!.snapshot()))

        // Into a new, empty state: same resources, lineage adopted.
        try pulled.stdout.write(toFile: dir + "/pulled.json", atomically: true, encoding: .utf8)
        let other = backend.sibling(of: state, in: dir, named: "other")
        let pushed = try Support.kumo(["state", "push", dir + "/pulled.json", "--state", other])
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let copy = try StateLocation(other).open(create: false)!.snapshot()
        #expect(copy.resources == document.snapshot.resources)
        #expect(copy.lineage == document.snapshot.lineage)
        #expect(copy.serial == document.snapshot.serial)
        let again = try Support.kumo(["state", "pull", "--state", other])
        #expect(try StateDocument(json: again.stdout).snapshot == document.snapshot)
        // The pulled documents differ in nothing but where they came from: not even the journal.
        #expect(again.stdout == pulled.stdout)

        // list and show read the same state.
        let list = try Support.kumo(["state", "list", "--state", other])
        #expect(list.stdout.split(separator: "\n").map(String.init) == document.snapshot.resources.keys.sorted())
        let show = try Support.kumo(["state", "show", "service.api", "--state", other])
        #expect(show.status == 0 && show.stdout.contains("port: 8081") && show.stdout.contains("dependencies:"))
        let typo = try Support.kumo(["state", "show", "service.apj", "--state", other])
        #expect(typo.status == 1 && typo.stderr.contains("did you mean 'service.api'"))

        // Pushing the same document again changes nothing.
        let same = try Support.kumo(["state", "push", dir + "/pulled.json", "--state", other])
        #expect(same.status == 0 && same.stdout.contains("nothing written"))
        if let password = StateBackend.postgresPassword {
            for output in [pulled, pushed, again, list, show, typo, same] {
                #expect(!output.stdout.contains(password) && !output.stderr.contains(password), "the password was printed")
            }
        }
    }

    @Test(arguments: StateBackend.available) func pushRefusesOtherLineagesOlderSerialsAndDamagedDocuments(backend: StateBackend) throws {
        let dir = try Support.temporaryDirectory()
        let state = backend.newLocation(in: dir)
        try Support.write(try shopState(), to: state)
        let store = try StateLocation(state).open(create: false)!
        let lock = try store.lock(operation: "test", timeout: 0)
        defer { try? store.unlock(lock) }
        var document = try store.document()

        var foreign = document
        foreign.snapshot.lineage = "another"
        foreign.snapshot.serial += 5
        #expect(throws: StateError.self) { try store.push(foreign, under: lock, force: false) }

        var older = document
        older.snapshot.serial -= 1
        let error = #expect(throws: StateError.self) { try store.push(older, under: lock, force: false) }
        #expect(error?.description.contains("older") == true)

        var sameSerial = document
        sameSerial.snapshot.resources["rule.big-order"] = nil
        #expect(throws: StateError.self) { try store.push(sameSerial, under: lock, force: false) }

        // Newer: accepted, serial taken from the document.
        document.snapshot.serial += 3
        document.snapshot.resources["rule.big-order"] = nil
        #expect(try store.push(document, under: lock, force: false) == .written(serial: document.snapshot.serial))

        // A spec edited by hand no longer matches its hash: refused before anything is written.
        var text = document.jsonValue(kumoVersion: "t").json()
        text = text.replacing("\"memory\": 512", with: "\"memory\": 4096")
        #expect(throws: StateError.self) { try StateDocument(json: text) }
        // A secret value in clear text is refused.
        var leaky = document
        leaky.snapshot.resources["function.getOrder"]!.secrets = ["TOKEN": "hunter2"]
        #expect(throws: StateError.self) { try StateDocument(json: leaky.jsonValue(kumoVersion: "t").json()) }
    }

    @Test(arguments: StateBackend.available) func onlyOneWriterGetsTheLock(backend: StateBackend) throws {
        let dir = try Support.temporaryDirectory()
        let path = backend.newLocation(in: dir)
        _ = try StateBackend.open(path)
        // Eight connections race for the lock: exactly one wins, and a second try through the
        // winner's own store fails too.
        let winners = Mutex(0)
        let stores = Mutex<[any StateStore]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            guard let store = try? StateLocation(path).open(create: true) else { return }
            stores.withLock { $0.append(store) }
            if (try? store.lock(operation: "race", timeout: 0)) != nil {
                winners.withLock { $0 += 1 }
                #expect(throws: StateLockFailure.self) { try store.lock(operation: "again", timeout: 0) }
            }
        }
        #expect(winners.withLock { $0 } == 1)
        #expect(stores.withLock { $0.count } == 8)
    }

    @Test(arguments: StateBackend.available) func contentionAcrossProcessesFailsAtOnceOrWaits(backend: StateBackend) throws {
        let dir = try Support.temporaryDirectory()
        let state = backend.newLocation(in: dir)
        try Support.write(try shopState(), to: state)
        let pulled = try Support.kumo(["state", "pull", "--state", state])
        var document = try StateDocument(json: pulled.stdout)
        document.snapshot.serial += 1
        try document.jsonValue(kumoVersion: "t").json().write(toFile: dir + "/next.json", atomically: true, encoding: .utf8)

        // This process holds the lock; another process (the kumo binary) wants it.
        let store = try StateLocation(state).open(create: false)!
        let lock = try store.lock(operation: "apply", timeout: 0)
        let started = Date()
        let refused = try Support.kumo(["state", "push", dir + "/next.json", "--state", state])
        #expect(Date().timeIntervalSince(started) < 5, "fails at once, no waiting")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("the state is locked"))
        #expect(refused.stderr.contains(lock.id) && refused.stderr.contains("pid \(getpid())") && refused.stderr.contains("'apply'"))
        #expect(try store.snapshot().serial == document.snapshot.serial - 1, "nothing written")

        // With --lock-timeout it waits, and gets the lock once this process lets go.
        let out = Pipe(), err = Pipe()
        let waiting = try Support.start(["state", "push", dir + "/next.json", "--state", state, "--lock-timeout", "20s"], stdout: out, stderr: err)
        Thread.sleep(forTimeInterval: 0.7)
        #expect(waiting.isRunning)
        try store.unlock(lock)
        waiting.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(waiting.terminationStatus == 0, "\(message)")
        #expect(try store.snapshot().serial == document.snapshot.serial)
    }

    @Test func aLockLeftByADeadProcessIsStaleUntilUnlocked() throws {
        let dir = try Support.temporaryDirectory()
        let state = dir + "/state.db"
        try Support.write(try shopState(), to: state)
        // The lock a process leaves when it dies holding it: its pid no longer runs.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        try insertLock(state, pid: process.processIdentifier, id: "dead-lock-id")
        let store = try SQLiteStateStore.open(path: state, create: false)!
        #expect(try store.currentLock()?.isStale == true)

        let document = try Support.kumo(["state", "pull", "--state", state]).stdout
        try document.write(toFile: dir + "/same.json", atomically: true, encoding: .utf8)
        let refused = try Support.kumo(["state", "push", dir + "/same.json", "--state", state])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("no longer running (stale)"))
        #expect(refused.stderr.contains("kumo state unlock dead-lock-id"))
        let wrong = try Support.kumo(["state", "unlock", "other-id", "--state", state])
        #expect(wrong.status == 1)
        let unlocked = try Support.kumo(["state", "unlock", "dead-lock-id", "--state", state])
        #expect(unlocked.status == 0, "\(unlocked.stderr)")
        #expect(try store.currentLock() == nil)
    }

    /// Puts a lock row for `pid` into the state, as a process that died holding it leaves it.
    func insertLock(_ path: String, pid: Int32, id: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count)
        let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        process.arguments = [path, "INSERT INTO lock (single, id, operation, pid, host, user, since) VALUES (1, '\(id)', 'apply', \(pid), '\(hostName)', 'test', '2026-01-01T00:00:00Z')"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// A process killed with -9 in the middle of writing 12,000 resources leaves the old
    /// state, never a mix and never a damaged file; killed at any other moment it leaves the
    /// old state or the new one.
    ///
    /// To kill it inside its write transaction for certain, the test watches the write-ahead
    /// log: once the writer's transaction has put a given amount of pages there, the writer is
    /// stopped (SIGSTOP), shown to be inside a write transaction (it holds SQLite's write lock,
    /// and the log ends in frames after its last commit, which SQLite would recover and ignore)
    /// and killed where it stands.
    @Test func killedWriterLeavesOldOrNewState() throws {
        let dir = try Support.temporaryDirectory()
        let state = dir + "/state.db"
        try Support.write(try shopState(), to: state)
        let before = try SQLiteStateStore.open(path: state, create: false)!.snapshot()

        var big = StateDocument(snapshot: StateSnapshot(lineage: before.lineage, serial: before.serial + 1))
        for i in 0..<12_000 {
            let spec: ConfigValue = .object([("runtime", .string("python3")), ("memory", .int(128 + i % 7)), ("handler", .string("app.handler_\(i)")),
                                             ("environment", .object([("INDEX", .string(String(i))), ("PADDING", .string(String(repeating: "x", count: 200)))]))])
            let address = "function.f\(i)"
            big.snapshot.resources[address] = ResourceRecord(address: address, kind: .function, name: "f\(i)", spec: spec, specHash: Hashing.specHash(spec),
                                                             codeHash: nil, secrets: [:], dependencies: [], status: .applied, appliedSerial: before.serial + 1)
        }
        try big.jsonValue(kumoVersion: "t").json().write(toFile: dir + "/big.json", atomically: true, encoding: .utf8)

        enum Seen { case old, new }
        /// What readers see after `moment`: the whole old state or the whole new one, from an
        /// intact file; then the old state again for the next push.
        func readersAfter(_ moment: String) throws -> Seen? {
            // Clear the lock the killed process may have left, as a user would.
            if let store = try SQLiteStateStore.open(path: state, create: false), let holder = try store.currentLock() {
                #expect(holder.isStale, "\(moment)")
                _ = try store.forceUnlock(id: holder.id)
            }
            let listed = try Support.kumo(["state", "list", "--json", "--state", state])
            #expect(listed.status == 0, "\(moment): \(listed.stderr)")
            #expect(try sqlite3(state, "PRAGMA integrity_check") == "ok\n", "\(moment)")
            let now = try SQLiteStateStore.open(path: state, create: false)!.snapshot()
            if now.resources.count == before.resources.count {
                let whole = now.resources == before.resources
                #expect(whole, "\(moment): the old state changed")
                return whole ? .old : nil
            }
            guard now.resources.count == 12_000 else {
                Issue.record("\(moment): a partial write is visible (\(now.resources.count) resources)")
                return nil
            }
            let whole = now.resources == big.snapshot.resources
            #expect(whole, "\(moment): the new state is not the pushed one")
            // Start again from the old state for the next push.
            var restore = StateDocument(snapshot: before)
            restore.snapshot.serial = now.serial + 1
            try Support.write(restore.snapshot, to: state)
            return .new
        }
        /// Starts `kumo state push` of the big document on a state whose log is folded in.
        func push() throws -> Process {
            _ = try sqlite3(state, "PRAGMA wal_checkpoint(TRUNCATE)")
            #expect(WriteAheadLog(path: state + "-wal").frames == 0, "the log is empty before the push")
            return try Support.start(["state", "push", dir + "/big.json", "--state", state, "--force"], stdout: Pipe(), stderr: Pipe())
        }

        // Kills inside the transaction, stopped at several depths into it.
        var inside = 0
        let depths = [256 << 10, 1 << 20, 2 << 20, 3 << 20]
        for depth in depths {
            let moment = "stopped with \(depth >> 10) KiB in the log"
            let process = try push()
            let deadline = Date().addingTimeInterval(60)
            while process.isRunning && fileSize(state + "-wal") < depth && Date() < deadline { usleep(500) }
            guard process.isRunning, kill(process.processIdentifier, SIGSTOP) == 0 else {
                Issue.record("\(moment): the push ended before its log reached \(depth) bytes (\(fileSize(state + "-wal")))")
                process.waitUntilExit()
                _ = try readersAfter(moment)
                continue
            }
            let log = WriteAheadLog(path: state + "-wal")
            let writing = try sqlite3(state, "BEGIN IMMEDIATE; ROLLBACK;", allowFailure: true).contains("database is locked")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let landedInside = writing && log.uncommitted > 0
            #expect(landedInside, "\(moment): write lock held \(writing), \(log.frames) frames in the log, \(log.uncommitted) after the last commit")
            if landedInside { inside += 1 }
            let seen = try readersAfter(moment)
            if landedInside { #expect(seen == .old, "\(moment): killed inside the transaction, yet the state changed") }
        }
        #expect(inside > 0, "no kill landed inside the write transaction")
        print("killedWriterLeavesOldOrNewState: \(inside) of \(depths.count) kills landed inside the write transaction")

        // Kills at a spread of other moments over the push (about two seconds in a debug
        // build, the transaction in its second half): before, inside or after the transaction,
        // each leaves the old state or the new one. Then once let it finish (nil).
        var sawNew = 0
        for delay in [0.5, 1.2, 1.6, 2.0, nil] as [Double?] {
            let process = try push()
            if let delay {
                Thread.sleep(forTimeInterval: delay)
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            if try readersAfter("killed after \(delay.map { "\($0) s" } ?? "never")") == .new { sawNew += 1 }
        }
        #expect(sawNew >= 1, "the push that was not killed wrote the new state")
    }

    /// The size of the file at `path`, 0 when there is none.
    func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Runs the sqlite3 shell on `database` and returns what it printed (standard error too).
    func sqlite3(_ database: String, _ sql: String, allowFailure: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [database, sql]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if !allowFailure { #expect(process.terminationStatus == 0, "sqlite3 \(sql): \(output)") }
        return output
    }
}

/// The frames of an SQLite write-ahead log that recovery would accept (SQLite's file format:
/// the header's salts and a checksum chain from the header through every frame), and how many
/// of them come after the last commit frame: pages of a transaction that never committed.
struct WriteAheadLog {
    var frames = 0
    var uncommitted = 0

    init(path: String) {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 32 else { return }
        let bytes = [UInt8](data)
        func big(_ o: Int) -> UInt32 { UInt32(bytes[o]) << 24 | UInt32(bytes[o + 1]) << 16 | UInt32(bytes[o + 2]) << 8 | UInt32(bytes[o + 3]) }
        func little(_ o: Int) -> UInt32 { UInt32(bytes[o + 3]) << 24 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o]) }
        let magic = big(0)
        guard magic == 0x377f_0682 || magic == 0x377f_0683 else { return }
        // The magic's low bit: checksums over big-endian words, else little-endian ones.
        let word = magic & 1 == 1 ? big : little
        let pageSize = big(8) == 1 ? 65_536 : Int(big(8))
        var s0: UInt32 = 0, s1: UInt32 = 0
        func checksum(_ from: Int, _ count: Int) {
            var i = from
            while i < from + count {
                s0 = s0 &+ word(i) &+ s1
                s1 = s1 &+ word(i + 4) &+ s0
                i += 8
            }
        }
        checksum(0, 24)
        guard s0 == big(24), s1 == big(28) else { return }
        var offset = 32, lastCommit = 0
        while offset + 24 + pageSize <= bytes.count {
            guard big(offset) != 0, big(offset + 8) == big(16), big(offset + 12) == big(20) else { break }
            checksum(offset, 8)
            checksum(offset + 24, pageSize)
            guard s0 == big(offset + 16), s1 == big(offset + 20) else { break }
            frames += 1
            if big(offset + 4) != 0 { lastCommit = frames }
            offset += 24 + pageSize
        }
        uncommitted = frames - lastCommit
    }
}

import Synchronization
