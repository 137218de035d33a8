import Foundation
import KumoState
import KumoTestSupport
import Testing

extension RuntimeSuites {
    /// `kumo apply` through the real binary and real runtimes against one PostgreSQL state:
    /// two clones contending for it, a holder killed with -9, and the server stopped in the
    /// middle of an apply. Each apply creates six slow services one at a time (`--parallelism
    /// 1`), one state write each, so a test can act while one is under way.
    @Suite(.enabled(if: StateBackend.postgresURL != nil, "needs the PostgreSQL server scripts/test starts"), .timeLimit(.minutes(5)))
    struct SharedStateApplyTests {
        static var slow: String { KumoTestSupport.fixtures() + "/projects/slow" }
        static let services = (1...6).map { "service.s\($0)" }

        /// A clone of the slow project with a runtime of its own, whose commands use `state`.
        func clone(state: String) throws -> RuntimeHarness {
            let harness = try RuntimeHarness(copying: SharedStateApplyTests.slow, environment: ["KUMO_STATE": state])
            try harness.startRuntime()
            return harness
        }

        /// `kumo apply --auto-approve --parallelism 1 ARGS` started in the background.
        func startApply(_ harness: RuntimeHarness, _ arguments: [String] = []) throws -> Background {
            try Background(["apply", "--auto-approve", "--no-color", "--parallelism", "1"] + arguments, harness: harness)
        }

        /// Waits until the state holds at least `count` resources (the apply is under way).
        func waitForResources(_ store: any StateStore, atLeast count: Int, while apply: Background) throws {
            let deadline = Date().addingTimeInterval(90)
            while Date() < deadline, apply.process.isRunning {
                if (try? store.snapshot().resources.count) ?? 0 >= count { return }
                Thread.sleep(forTimeInterval: 0.05)
            }
            throw SupportError("the apply did not reach \(count) resources: \(apply.finish(timeout: 10).stderr)")
        }

        func expectNoPassword(_ outputs: [KumoTestSupport.Output]) {
            guard let password = StateBackend.postgresPassword else { return }
            for output in outputs {
                #expect(!output.stdout.contains(password) && !output.stderr.contains(password), "the password was printed")
            }
        }

        /// Two clones apply against one state: while the first holds the lock, the second fails
        /// at once naming it; with --lock-timeout it waits, then finds nothing left to do. Only
        /// the first one's runtime and journal ever see a change.
        @Test func twoClonesNeverBothWrite() throws {
            let state = StateBackend.postgres.newLocation(in: "")
            let store = try StateBackend.open(state)
            let first = try clone(state: state)
            defer { first.tearDown() }
            let second = try clone(state: state)
            defer { second.tearDown() }

            let apply = try startApply(first)
            try waitForResources(store, atLeast: 1, while: apply)
            let refused = try second.kumo(["apply", "--auto-approve", "--no-color"])
            #expect(refused.status == 1, "\(refused.stdout)\n\(refused.stderr)")
            #expect(refused.stderr.contains("error: the state is locked: lock ") && refused.stderr.contains("'apply'")
                    && refused.stderr.contains("(pid \(apply.process.processIdentifier) on "), "\(refused.stderr)")

            let waiting = try Background(["apply", "--auto-approve", "--no-color", "--lock-timeout", "120s"], harness: second)
            let firstDone = apply.finish(timeout: 120)
            #expect(firstDone.status == 0, "\(firstDone.stdout)\n\(firstDone.stderr)")
            let secondDone = waiting.finish(timeout: 120)
            #expect(secondDone.status == 0, "\(secondDone.stdout)\n\(secondDone.stderr)")
            #expect(secondDone.stdout.contains("No changes"), "the waiting apply planned against the first one's state:\n\(secondDone.stdout)")

            let snapshot = try store.snapshot()
            #expect(snapshot.resources.keys.sorted() == SharedStateApplyTests.services)
            #expect(try store.journal().map(\.outcome) == ["succeeded"], "one apply wrote")
            #expect(try store.currentLock() == nil)
            // The second clone's runtime was never told to run anything.
            let status = try second.kumo(["runtime", "status"])
            #expect(!status.stdout.contains("s1"), "\(status.stdout)")
            expectNoPassword([refused, firstDone, secondDone])
        }

        /// The apply killed with -9 holding the lock: the next apply takes the lock over by
        /// itself, says from which process, and finishes what remains.
        @Test func aKilledHolderIsTakenOverByTheNextApply() throws {
            let state = StateBackend.postgres.newLocation(in: "")
            let store = try StateBackend.open(state)
            let harness = try clone(state: state)
            defer { harness.tearDown() }

            let apply = try startApply(harness)
            try waitForResources(store, atLeast: 2, while: apply)
            kill(apply.process.processIdentifier, SIGKILL)
            let killed = apply.finish(timeout: 30)
            #expect(killed.status == SIGKILL)
            let left = try #require(try store.currentLock(), "the killed apply's lock row is still there")
            #expect(left.pid == apply.process.processIdentifier)
            let recorded = try store.snapshot().resources.count
            #expect((2..<6).contains(recorded))

            let next = try harness.kumo(["apply", "--auto-approve", "--no-color"])
            #expect(next.status == 0, "\(next.stdout)\n\(next.stderr)")
            #expect(next.stderr.contains("Took over the state lock from a kumo command that is gone") && next.stderr.contains("lock \(left.id): 'apply'")
                    && next.stderr.contains("(pid \(apply.process.processIdentifier) on "), "\(next.stderr)")
            #expect(try store.snapshot().resources.keys.sorted() == SharedStateApplyTests.services)
            #expect(try store.currentLock() == nil)
            let plan = try harness.kumo(["plan", "--detailed-exitcode", "--no-color"])
            #expect(plan.status == 0 && plan.stdout.contains("No changes"), "\(plan.stdout)\n\(plan.stderr)")
            expectNoPassword([next, plan])
        }

        /// The server stopped in the middle of an apply: the apply stops with one line naming
        /// the server (host, port, database; never the password), the state holds exactly the
        /// actions that finished before, and once the server is back the next plan shows the
        /// remainder.
        @Test func theServerStoppingStopsTheApplyAndThePlanShowsTheRemainder() throws {
            let state = StateBackend.postgres.newLocation(in: "")
            let location = try PostgresLocation(url: state)
            let store = try StateBackend.open(state)
            let harness = try clone(state: state)
            defer { harness.tearDown() }
            var stopped = false
            defer { if stopped { try? StateBackend.server("restart") } }

            let apply = try startApply(harness)
            try waitForResources(store, atLeast: 2, while: apply)
            try StateBackend.server("stop")
            stopped = true
            let failed = apply.finish(timeout: 120)
            #expect(failed.status == 1, "\(failed.stdout)\n\(failed.stderr)")
            let server = "the PostgreSQL server at \(location.host):\(location.port), database \(location.database)"
            let named = failed.stderr.split(separator: "\n").filter { $0.contains(server) }
            #expect(!named.isEmpty, "no line names the server:\n\(failed.stderr)")
            #expect(failed.stderr.contains("error: apply failed after "), "\(failed.stderr)")
            #expect(failed.stderr.contains("'kumo plan' shows what remains"), "\(failed.stderr)")

            try StateBackend.server("restart")
            stopped = false
            let snapshot = try store.snapshot()
            let recorded = Set(snapshot.resources.keys)
            #expect(recorded.count >= 2 && recorded.count < 6, "\(recorded.sorted())")
            #expect(snapshot.resources.values.allSatisfy { $0.status == .applied })
            // One write per finished action, after the journal's opening: nothing half written.
            #expect(snapshot.serial == recorded.count + 1, "serial \(snapshot.serial) for \(recorded.count) resources")
            #expect(try store.timings().count == recorded.count)

            let plan = try harness.kumo(["plan", "--json"])
            #expect(plan.status == 0, "\(plan.stderr)")
            let changes = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])["resource_changes"] as? [[String: Any]] ?? []
            let creates = Set(changes.filter { $0["action"] as? String == "create" }.compactMap { $0["address"] as? String })
            #expect(creates == Set(SharedStateApplyTests.services).subtracting(recorded), "\(plan.stdout)")
            #expect(changes.filter { $0["action"] as? String != "create" }.allSatisfy { $0["action"] as? String == "no-op" })
            expectNoPassword([failed, plan])
        }
    }
}

/// A `kumo` command running in the background from a harness's project.
final class Background: @unchecked Sendable {
    let process: Process
    private let out = Pipe(), err = Pipe()
    private var stdout = Data(), stderr = Data()
    private let readers = DispatchGroup()

    init(_ arguments: [String], harness: RuntimeHarness) throws {
        process = try KumoTestSupport.start(arguments, environment: harness.environment, directory: harness.directory, stdout: out, stderr: err)
        // Read while it runs, so that a full pipe never blocks it.
        for (pipe, isOut) in [(out, true), (err, false)] {
            readers.enter()
            DispatchQueue.global().async { [self] in
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                if isOut { stdout = data } else { stderr = data }
                readers.leave()
            }
        }
    }

    /// Waits for it to end, killing it after `timeout` seconds; its status and output.
    func finish(timeout: Double) -> KumoTestSupport.Output {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            Issue.record("kumo \(process.arguments ?? []) did not end within \(timeout) s")
        }
        process.waitUntilExit()
        _ = readers.wait(timeout: .now() + 10)
        return KumoTestSupport.Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}
