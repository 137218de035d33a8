import Foundation
import KumoManifest
import KumoPlan
import KumoState
import KumoTestSupport
import Testing

/// What only the PostgreSQL store has: URLs and passwords, failures that name the server, a
/// lock that a dead holder gives up with its connection, and migrating between backends. The
/// semantics both stores share are in ``StateStoreTests``.
@Suite(.serialized) struct PostgresStateTests {
    static var enabled: Bool { StateBackend.postgresURL != nil }

    func shopState() throws -> StateSnapshot {
        let desired = try Support.desired("shop", environment: [:])
        let plan = try Planner().plan(desired: desired, current: .empty)
        return StateSnapshot.empty.applying(plan, resources: desired.resources, secrets: [:], lineage: UUID().uuidString.lowercased())
    }

    @Test func urlsParseAndNeverShowThePassword() throws {
        let location = try PostgresLocation(url: "postgres://ci%40corp:s3cr%2Ft@db.internal:6543/infra?schema=kumo_shop_prod&sslmode=verify-full")
        #expect(location.user == "ci@corp" && location.password == "s3cr/t" && location.host == "db.internal" && location.port == 6543)
        #expect(location.database == "infra" && location.schema == "kumo_shop_prod" && location.sslMode == .verifyFull)
        #expect(location.description == "postgres://ci%40corp@db.internal:6543/infra?schema=kumo_shop_prod&sslmode=verify-full")
        #expect(try StateLocation("postgresql://u@h/d").description == "postgres://u@h:5432/d")
        #expect(try StateLocation("/tmp/state.db") == .file("/tmp/state.db"))
        for bad in ["postgres://h/d", "postgres://u@h", "postgres://u@h/d?sslmode=maybe", "postgres://u:pw@h/d?schema=bad-name", "postgres://u:pw@h/d?color=red"] {
            let error = #expect(throws: StateError.self) { try PostgresLocation(url: bad) }
            #expect(error?.description.contains("pw") == false, "\(bad): \(error?.description ?? "")")
        }
        #expect(PostgresLocation.defaultSchema(project: "Shop-API", stage: "prod.eu") == "kumo_shop_api_prod_eu")
        // The password: URL, else PGPASSWORD, else a password file only its owner may read.
        let dir = try Support.temporaryDirectory()
        let file = dir + "/pgpass"
        try "# comment\nother:5432:*:kumo:nope\ndb.internal:6543:infra:kumo:from\\:file\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        var plain = location
        plain.password = nil
        plain.user = "kumo"
        #expect(plain.resolvedPassword(environment: ["PGPASSWORD": "env", "PGPASSFILE": file]) == "env")
        #expect(plain.resolvedPassword(environment: ["PGPASSFILE": file]) == "from:file")
        chmod(file, 0o644)
        #expect(plain.resolvedPassword(environment: ["PGPASSFILE": file]) == nil)
        #expect(location.resolvedPassword(environment: ["PGPASSWORD": "env"]) == "s3cr/t")
    }

    /// An unreachable server, a wrong password and a missing database: one line naming host,
    /// port and database, never the password, exit 1, and no waiting.
    @Test(.enabled(if: enabled)) func connectionFailuresAreOneClearLine() throws {
        let url = try #require(StateBackend.postgresURL)
        let location = try PostgresLocation(url: url)
        let closedPort = try freePort()
        let cases: [(String, String, String)] = [
            (url.replacingOccurrences(of: ":\(location.port)/", with: ":\(closedPort)/"), "127.0.0.1:\(closedPort), database kumo", "connection refused"),
            (url.replacingOccurrences(of: ":\(location.password!)@", with: ":wrong-password@"), "127.0.0.1:\(location.port), database kumo", "password authentication failed"),
            (url.replacingOccurrences(of: "/kumo?", with: "/nosuchdb?"), "127.0.0.1:\(location.port)", "no database nosuchdb"),
        ]
        for (bad, server, reason) in cases {
            for command in [["state", "list"], ["state", "pull"]] {
                let started = Date()
                let result = try Support.kumo(command + ["--state", bad + "&schema=kumo_x"])
                #expect(Date().timeIntervalSince(started) < 15)
                #expect(result.status == 1, "\(command) \(bad): \(result.stdout)")
                let lines = result.stderr.split(separator: "\n")
                #expect(lines.count == 1 && result.stderr.contains(server) && result.stderr.contains(reason), "\(result.stderr)")
                #expect(!result.stderr.contains(location.password!) && !result.stderr.contains("wrong-password") && result.stdout.isEmpty)
            }
        }
    }

    /// A process that dies holding the lock (kill -9, at many points of a 12,000-resource
    /// push) leaves the old state or the new one, and the next command takes the lock over by
    /// itself, saying from whom, with no `kumo state unlock`.
    @Test(.enabled(if: enabled)) func killedHoldersAreTakenOverAndLeaveOldOrNewState() throws {
        let dir = try Support.temporaryDirectory()
        let state = StateBackend.postgres.newLocation(in: dir)
        try Support.write(try shopState(), to: state)
        let store = try StateBackend.open(state)
        let before = try store.snapshot()
        var big = StateDocument(snapshot: StateSnapshot(lineage: before.lineage, serial: before.serial + 1))
        for i in 0..<12_000 {
            let spec: ConfigValue = .object([("runtime", .string("python3")), ("memory", .int(128 + i % 7)), ("handler", .string("app.handler_\(i)")),
                                             ("environment", .object([("PADDING", .string(String(repeating: "x", count: 200)))]))])
            let address = "function.f\(i)"
            big.snapshot.resources[address] = ResourceRecord(address: address, kind: .function, name: "f\(i)", spec: spec, specHash: Hashing.specHash(spec),
                                                             codeHash: nil, secrets: [:], dependencies: [], status: .applied, appliedSerial: before.serial + 1)
        }
        try big.jsonValue(kumoVersion: "t").json().write(toFile: dir + "/big.json", atomically: true, encoding: .utf8)
        try StateDocument(snapshot: before).jsonValue(kumoVersion: "t").json().write(toFile: dir + "/old.json", atomically: true, encoding: .utf8)

        var tookOver = 0, sawNew = 0, sawOld = 0
        // Kills counted from the moment the lock row appears, not from the start: on a loaded
        // machine the process may take seconds to get there.
        for delay in [0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0, nil] as [Double?] {
            let process = try Support.start(["state", "push", dir + "/big.json", "--state", state, "--force"], stdout: Pipe(), stderr: Pipe())
            if let delay {
                let deadline = Date().addingTimeInterval(60)
                while process.isRunning, Date() < deadline, try store.currentLock() == nil { Thread.sleep(forTimeInterval: 0.01) }
                Thread.sleep(forTimeInterval: delay)
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            let moment = "killed after \(delay.map { "\($0) s" } ?? "never")"
            let now = try store.snapshot()
            if now.resources == before.resources {
                sawOld += 1
            } else if now.resources == big.snapshot.resources {
                sawNew += 1
            } else {
                Issue.record("\(moment): a partial write is visible (\(now.resources.count) resources)")
            }
            // The next command that writes takes the lock at once, whatever the killed one held.
            let restore = try Support.kumo(["state", "push", dir + "/old.json", "--state", state, "--force"])
            #expect(restore.status == 0, "\(moment): \(restore.stderr)")
            if restore.stderr.contains("Took over the state lock") {
                tookOver += 1
                #expect(restore.stderr.contains("pid \(process.processIdentifier)") && restore.stderr.contains("'state push'"), "\(restore.stderr)")
            }
            #expect(try store.currentLock() == nil)
            #expect(try store.snapshot().resources == before.resources)
        }
        print("killedHoldersAreTakenOver: \(tookOver) takeovers, \(sawOld) old, \(sawNew) new")
        #expect(tookOver >= 1, "no kill landed while the lock was held")
        #expect(sawNew >= 1 && sawOld >= 1)
    }

    /// A holder whose lock connection drops loses the lock: its writes are refused, though its
    /// row is still there, and the next store takes the lock over.
    @Test(.enabled(if: enabled)) func aLostLockConnectionStopsItsWrites() throws {
        let dir = try Support.temporaryDirectory()
        let state = StateBackend.postgres.newLocation(in: dir)
        try Support.write(try shopState(), to: state)
        let holder = try #require(try StateLocation(state).open(create: false) as? PostgresStateStore)
        let lock = try holder.lock(operation: "apply", timeout: 0)
        let other = try StateBackend.open(state)
        let held = #expect(throws: StateLockFailure.self) { try other.lock(operation: "plan", timeout: 0) }
        #expect(held?.description.contains(lock.id) == true)
        // Its lock connection ends as a dead process's would.
        try sql(state, "SELECT pg_terminate_backend(backend_pid) FROM lock")
        Thread.sleep(forTimeInterval: 0.3)
        let refused = #expect(throws: StateError.self) { try holder.transaction(under: lock) { try $0.remove("service.api") } }
        #expect(refused?.description.contains("was lost") == true, "\(refused?.description ?? "")")
        let mine = try other.lock(operation: "plan", timeout: 0)
        #expect(mine.tookOver?.contains(lock.id) == true)
        try other.unlock(mine)
        #expect(try other.snapshot().resources["service.api"] != nil)
    }

    /// SQLite → PostgreSQL → SQLite keeps the lineage and serial, and `state pull` of the
    /// copies is byte for byte the original's; a target that holds a state is refused.
    @Test(.enabled(if: enabled)) func migrateRoundTripsByteIdentical() throws {
        let dir = try Support.temporaryDirectory()
        let sqlite = dir + "/state.db"
        try Support.write(try shopState(), to: sqlite)
        // Some journal and timings too.
        let store = try StateBackend.open(sqlite)
        let lock = try store.lock(operation: "apply", timeout: 0)
        try store.transaction(under: lock) { writer in
            let id = try writer.beginJournal(operation: "apply", planHash: nil, serialBefore: 1, estimate: JournalEntry.Estimate(milliseconds: 812.5, errorMilliseconds: 40.125))
            try writer.record(ActionTiming(journalID: id, address: "service.api", kind: .service, action: "create", durationMilliseconds: 12.345, startedMilliseconds: 3.25,
                                           wave: 1, waveSize: 2, parallelism: 10, work: Work(action: "create", starts: 2, stops: 0)))
            try writer.record(ActionTiming(journalID: id, address: "rule.big-order", kind: .rule, action: "create", durationMilliseconds: 1.5, wave: 1, waveSize: 2, parallelism: 10))
            try writer.endJournal(id, outcome: "succeeded", actualMilliseconds: 901.75)
        }
        try store.unlock(lock)
        let postgres = StateBackend.postgres.newLocation(in: dir)
        let back = dir + "/back.db"
        let original = try Support.kumo(["state", "pull", "--state", sqlite])
        let there = try Support.kumo(["state", "migrate", "--state", sqlite, "--to", postgres])
        #expect(there.status == 0, "\(there.stderr)")
        #expect(there.stdout.contains("serial \(try store.snapshot().serial)"))
        let again = try Support.kumo(["state", "migrate", "--state", sqlite, "--to", postgres])
        #expect(again.status == 1 && again.stderr.contains("already holds a state"), "\(again.stderr)")
        let home = try Support.kumo(["state", "migrate", "--state", postgres, "--to", back])
        #expect(home.status == 0, "\(home.stderr)")
        let pulledThere = try Support.kumo(["state", "pull", "--state", postgres])
        let pulledBack = try Support.kumo(["state", "pull", "--state", back])
        #expect(original.status == 0 && !original.stdout.isEmpty)
        #expect(pulledThere.stdout == original.stdout)
        #expect(pulledBack.stdout == original.stdout)
        let forced = try Support.kumo(["state", "migrate", "--state", sqlite, "--to", postgres, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        for output in [there, again, home, pulledThere, forced] {
            #expect(!output.stdout.contains(StateBackend.postgresPassword!) && !output.stderr.contains(StateBackend.postgresPassword!))
        }
    }

    /// Runs `statement` in the state's database with psql.
    func sql(_ location: String, _ statement: String) throws {
        let url = try PostgresLocation(url: location)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-q", "-h", url.host, "-p", String(url.port), "-U", url.user, "-d", url.database, "-v", "ON_ERROR_STOP=1",
                             "-c", "SET search_path TO \(url.schema!)", "-c", statement]
        process.environment = ["PGPASSWORD": url.password ?? "", "PATH": "/usr/bin:/bin"]
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
