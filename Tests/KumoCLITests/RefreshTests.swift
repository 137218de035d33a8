import Foundation
import KumoTestSupport
import Testing

extension RuntimeSuites {
    /// `kumo plan --refresh` and `apply --refresh` against a runtime that no longer runs what the
    /// state records: another spec, other code, replicas not ready.
    @Suite struct RefreshTests {
        @Test func refreshShowsEachKindOfDriftAndApplyRepairsIt() async throws {
            let harness = try RuntimeHarness(copying: KumoTestSupport.fixtures() + "/projects/stack")
            defer { harness.tearDown() }
            try harness.startRuntime()
            let applied = try harness.kumo(["apply", "--auto-approve", "--no-color"])
            #expect(applied.status == 0, "\(applied.stdout)\n\(applied.stderr)")
            let clean = try harness.kumo(["plan", "--refresh", "--detailed-exitcode", "--no-color"])
            #expect(clean.status == 0 && clean.stdout.contains("Refreshed: the runtime matches the state."), "\(clean.stdout)\n\(clean.stderr)")

            // Another kumo, with its own state file, deploys another spec of one function and other
            // code of the other to the same runtime; this project's manifests and state stay as they were.
            let spec = try harness.kumo(["apply", "--state", "other.db", "--target", "function.spec", "--var", "memory=256", "--auto-approve"])
            #expect(spec.status == 0, "\(spec.stdout)\n\(spec.stderr)")
            let app = harness.path("coded/app.py")
            let source = try String(contentsOfFile: app, encoding: .utf8)
            try (source + "# deployed from elsewhere\n").write(toFile: app, atomically: true, encoding: .utf8)
            let code = try harness.kumo(["apply", "--state", "other.db", "--target", "function.coded", "--auto-approve"])
            #expect(code.status == 0, "\(code.stdout)\n\(code.stderr)")
            try source.write(toFile: app, atomically: true, encoding: .utf8)

            // One of the service's two replicas dies, and `restart: no` leaves it down.
            let pids = try replicaPids(harness, "service.pool")
            #expect(pids.count == 2, "\(pids)")
            kill(pid_t(pids[0]), SIGKILL)
            let down = try await RuntimeHarness.waitUntil(timeout: 20) { try self.replicaPids(harness, "service.pool").count == 1 }
            #expect(down, "the killed replica is noticed")

            #expect(try harness.kumo(["plan", "--detailed-exitcode"]).status == 0, "the state alone sees no change")
            let drift = try harness.kumo(["plan", "--refresh", "--detailed-exitcode", "--no-color"])
            #expect(drift.status == 2, "\(drift.stdout)\n\(drift.stderr)")
            #expect(drift.stdout.contains("Drift: the runtime differs from the state for 3 resources:"), "\(drift.stdout)")
            #expect(drift.stdout.contains("! function.spec: the runtime runs another spec ("), "\(drift.stdout)")
            #expect(drift.stdout.contains("! function.coded: the runtime runs other code ("), "\(drift.stdout)")
            #expect(drift.stdout.contains("! service.pool: 1 of 2 replicas ready"), "\(drift.stdout)")
            #expect(drift.stdout.contains("Plan: 0 to add, 3 to change, 0 to replace, 0 to destroy."), "\(drift.stdout)")

            let repaired = try harness.kumo(["apply", "--refresh", "--auto-approve", "--no-color"])
            #expect(repaired.status == 0, "\(repaired.stdout)\n\(repaired.stderr)")
            let after = try harness.kumo(["plan", "--refresh", "--detailed-exitcode", "--no-color"])
            #expect(after.status == 0 && after.stdout.contains("Refreshed: the runtime matches the state."), "\(after.stdout)\n\(after.stderr)")
            #expect(try replicaPids(harness, "service.pool").count == 2)
        }

        /// The pids of a service's running replicas, from `kumo status --json`.
        func replicaPids(_ harness: RuntimeHarness, _ address: String) throws -> [Int] {
            let status = try harness.kumo(["status", "--json"])
            guard status.status == 0 else { throw SupportError("kumo status: \(status.stderr)") }
            let report = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            let rows = report?["resources"] as? [[String: Any]] ?? []
            let detail = rows.first { $0["address"] as? String == address }?["detail"] as? [String: Any]
            return (detail?["pids"] as? [Int]) ?? []
        }
    }
}
