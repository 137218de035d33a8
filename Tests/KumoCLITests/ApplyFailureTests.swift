import Foundation
import KumoTestSupport
import Testing

extension RuntimeSuites {
    /// A failed apply on a running runtime: the state records exactly what was done, so the next
    /// plan shows exactly what remains.
    @Suite struct ApplyFailureTests {
        static var stack: String { KumoTestSupport.fixtures() + "/projects/stack" }

        /// A failed update is recorded `tainted` (the next plan replaces it, even once the manifest
        /// is back to what the state holds); a failed create is not recorded (the next plan creates it).
        @Test func aFailedUpdateIsTaintedAndAFailedCreateIsNotRecorded() async throws {
            let harness = try RuntimeHarness(copying: ApplyFailureTests.stack)
            defer { harness.tearDown() }
            try harness.startRuntime()
            let first = try harness.kumo(["apply", "--auto-approve", "--no-color"])
            #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
            let before = try harness.state()
            #expect(before.resources["service.pool"]?.status == .applied)

            // One update whose replicas exit at once, and one create of the same kind, in one apply.
            let manifest = harness.path("kumo.yaml")
            let original = try String(contentsOfFile: manifest, encoding: .utf8)
            try (original + """
                  fresh:
                    command: ["python3", "server.py", "${port}"]
                    code: server
                    environment: { VERSION: broken }
                    healthcheck: { http: /, interval: 1s, timeout: 1s }

                """).write(toFile: manifest, atomically: true, encoding: .utf8)
            let failed = try harness.kumo(["apply", "--auto-approve", "--no-color", "--var", "version=broken"])
            #expect(failed.status == 1, "\(failed.stdout)\n\(failed.stderr)")
            #expect(failed.stderr.contains("error: apply failed after 0 of 2 actions:"), "\(failed.stderr)")
            #expect(failed.stderr.contains("service.pool: ") && failed.stderr.contains("service.fresh: "), "\(failed.stderr)")

            let after = try harness.state()
            let pool = try #require(after.resources["service.pool"])
            #expect(pool.status == .tainted)
            #expect(pool.spec == before.resources["service.pool"]?.spec, "the state keeps the spec that served")
            #expect(after.resources["service.fresh"] == nil, "a failed create leaves nothing behind")
            #expect(Set(after.resources.keys) == Set(before.resources.keys))

            // The manifest's pool is what the state holds again; the next plan still replaces it
            // (the runtime may have half done the update), and creates the service that failed.
            let plan = try harness.kumo(["plan", "--json"])
            let changes = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])["resource_changes"] as? [[String: Any]]
            let actions = Dictionary(uniqueKeysWithValues: (changes ?? []).map { ($0["address"] as? String ?? "", $0["action"] as? String ?? "") })
            #expect(actions == ["service.pool": "replace", "service.fresh": "create", "function.spec": "no-op", "function.coded": "no-op"], "\(plan.stdout)")
            let text = try harness.kumo(["plan", "--no-color"])
            #expect(text.stdout.contains("# service.pool must be replaced (tainted"), "\(text.stdout)")
            #expect(text.stdout.contains("Plan: 1 to add, 0 to change, 1 to replace, 0 to destroy."), "\(text.stdout)")
        }
    }
}
