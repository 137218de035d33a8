import Foundation
import KumoTestSupport
import Testing

extension RuntimeSuites {
    /// The hash of a `code:` directory as `kumo plan` sees it: what running the code and the usual
    /// tools leave beside it does not count; the executable bit and a link's target do.
    @Suite struct CodeHashTests {
        @Test func runningCodeAndCachesLeaveTheHashButModesAndLinkTargetsChangeIt() async throws {
            let harness = try RuntimeHarness(copying: KumoTestSupport.fixtures() + "/projects/greeter", environment: ["GREETER_TOKEN": "t"])
            defer { harness.tearDown() }
            let code = harness.path("code")
            // A link inside the code, to the file beside it.
            try FileManager.default.createSymbolicLink(atPath: code + "/current.py", withDestinationPath: "app.py")
            try harness.startRuntime()
            let applied = try harness.kumo(["apply", "--auto-approve", "--no-color"])
            #expect(applied.status == 0, "\(applied.stdout)\n\(applied.stderr)")

            // Invoke, then plan shows no changes: the call's import wrote __pycache__ beside the code.
            let invoked = try harness.kumo(["invoke", "greet"])
            #expect(invoked.status == 0, "\(invoked.stderr)")
            let cache = (try? FileManager.default.contentsOfDirectory(atPath: code + "/__pycache__")) ?? []
            #expect(cache.contains { $0.hasPrefix("app.") && $0.hasSuffix(".pyc") }, "the handler's import wrote its bytecode: \(cache)")
            try expectNoChanges(harness, "after an invoke")

            // What tools leave in a code tree.
            try harness.write("stale bytecode", to: "code/helpers.pyc")
            try harness.write("ref: refs/heads/main\n", to: "code/.git/HEAD")
            try harness.write("blob", to: "code/.git/objects/ab/cdef")
            try harness.write("finder", to: "code/.DS_Store")
            try expectNoChanges(harness, "after caches and tool files were added")

            // The executable bit is part of the hash, and taking it back restores the hash.
            chmod(code + "/app.py", 0o755)
            try expectCodeChange(harness, "after chmod +x")
            chmod(code + "/app.py", 0o644)
            try expectNoChanges(harness, "after chmod -x")

            // So is a link's target: the same file, named differently.
            try FileManager.default.removeItem(atPath: code + "/current.py")
            try FileManager.default.createSymbolicLink(atPath: code + "/current.py", withDestinationPath: "./app.py")
            try expectCodeChange(harness, "after the link was pointed at ./app.py")
        }

        func plan(_ harness: RuntimeHarness) throws -> (status: Int32, change: [String: Any]?, stderr: String) {
            let result = try harness.kumo(["plan", "--json", "--detailed-exitcode"])
            let plan = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let changes = plan?["resource_changes"] as? [[String: Any]] ?? []
            return (result.status, changes.first { $0["address"] as? String == "function.greet" }, result.stderr)
        }

        func expectNoChanges(_ harness: RuntimeHarness, _ when: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let (status, change, stderr) = try plan(harness)
            #expect(status == 0, "\(when): \(change ?? [:]) \(stderr)", sourceLocation: sourceLocation)
            #expect(change?["action"] as? String == "no-op", "\(when)", sourceLocation: sourceLocation)
        }

        /// An update whose only difference is the code hash.
        func expectCodeChange(_ harness: RuntimeHarness, _ when: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let (status, change, stderr) = try plan(harness)
            #expect(status == 2, "\(when): \(stderr)", sourceLocation: sourceLocation)
            #expect(change?["action"] as? String == "update", "\(when): \(change ?? [:])", sourceLocation: sourceLocation)
            let hashes = change?["code_hash"] as? [String: Any]
            let before = hashes?["before"] as? String, after = hashes?["after"] as? String
            #expect(before != nil && after != nil && before != after, "\(when): \(hashes ?? [:])", sourceLocation: sourceLocation)
            let fields = (change?["changed_fields"] as? [[String: Any]])?.map { $0["path"] as? String }
            #expect(fields == ["code (hash)"], "\(when): only the code differs", sourceLocation: sourceLocation)
        }
    }
}
