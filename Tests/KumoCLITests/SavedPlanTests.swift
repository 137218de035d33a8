import Foundation
import KumoTestSupport
import Testing

extension RuntimeSuites {
    /// `kumo plan --out FILE` and `kumo apply FILE` on a running runtime: the file is private, it
    /// applies exactly what it says, at most once, and only while the state, the code and the
    /// secrets are what it saw.
    @Suite struct SavedPlanTests {
        static var greeter: String { KumoTestSupport.fixtures() + "/projects/greeter" }

        @Test func aSavedPlanAppliesExactlyItselfAndOnlyWhileItsInputsHold() async throws {
            let harness = try RuntimeHarness(copying: SavedPlanTests.greeter, environment: ["GREETER_TOKEN": "first"])
            defer { harness.tearDown() }
            try harness.startRuntime()

            // Saved against the empty state, readable by its owner only (it holds every spec).
            let saved = try harness.kumo(["plan", "--out", "first.plan", "--no-color"])
            #expect(saved.status == 0, "\(saved.stderr)")
            let mode = try FileManager.default.attributesOfItem(atPath: harness.path("first.plan"))[.posixPermissions] as? Int
            #expect(mode == 0o600, "mode \(String(mode ?? 0, radix: 8))")

            // The manifest changes after the plan was saved: the saved plan is what is applied.
            try setMemory(harness, 256)
            let applied = try harness.kumo(["apply", "first.plan", "--auto-approve", "--no-color"])
            #expect(applied.status == 0, "\(applied.stdout)\n\(applied.stderr)")
            #expect(applied.stdout.contains("Apply complete! Resources: 1 added, 0 changed"), "\(applied.stdout)")
            let afterFirst = try harness.state()
            #expect(afterFirst.resources["function.greet"]?.spec["memory"]?.intValue == 128)
            let invoked = try harness.kumo(["invoke", "greet"])
            #expect(invoked.status == 0 && invoked.stdout.contains("\"memory\": 128"), "the runtime runs the saved spec: \(invoked.stdout) \(invoked.stderr)")

            // Applied once: the same file again is stale, and nothing is written.
            let again = try harness.kumo(["apply", "first.plan", "--auto-approve", "--no-color"])
            #expect(again.status == 1)
            #expect(again.stderr.hasPrefix("error: the saved plan cannot be applied: the state was empty when this plan was made"), "\(again.stderr)")
            #expect(again.stderr.split(separator: "\n").count == 1, "one line: \(again.stderr)")
            #expect(try harness.state().serial == afterFirst.serial)

            // Two plans against this state (memory 128 → 256).
            for name in ["second.plan", "third.plan"] {
                #expect(try harness.kumo(["plan", "--out", name]).status == 0)
            }

            // The code changed since: refused, state untouched; back as it was, the hash agrees again.
            let app = harness.path("code/app.py")
            let source = try String(contentsOfFile: app, encoding: .utf8)
            try (source + "# edited\n").write(toFile: app, atomically: true, encoding: .utf8)
            let codeChanged = try harness.kumo(["apply", "second.plan", "--auto-approve", "--no-color"])
            #expect(codeChanged.status == 1)
            #expect(codeChanged.stderr == "error: the saved plan cannot be applied: the code of function.greet changed since the plan was made\n", "\(codeChanged.stderr)")
            try source.write(toFile: app, atomically: true, encoding: .utf8)

            // A secret's value changed (or is gone): refused.
            let secretChanged = try harness.kumo(["apply", "second.plan", "--auto-approve", "--no-color"], extra: ["GREETER_TOKEN": "second"])
            #expect(secretChanged.status == 1)
            #expect(secretChanged.stderr == "error: the saved plan cannot be applied: secret 'GREETER_TOKEN' is unset or differs from the value the plan was made with\n", "\(secretChanged.stderr)")
            var unsetEnvironment = harness.environment
            unsetEnvironment["GREETER_TOKEN"] = nil
            let secretUnset = try KumoTestSupport.run(["apply", "second.plan", "--auto-approve"], environment: unsetEnvironment, directory: harness.directory)
            #expect(secretUnset.status == 1 && secretUnset.stderr.contains("secret 'GREETER_TOKEN' is unset or differs"), "\(secretUnset.stderr)")
            #expect(try harness.state().serial == afterFirst.serial, "no refusal wrote the state")

            // Everything as the plan saw it: it applies.
            let second = try harness.kumo(["apply", "second.plan", "--auto-approve", "--no-color"])
            #expect(second.status == 0, "\(second.stdout)\n\(second.stderr)")
            #expect(try harness.state().resources["function.greet"]?.spec["memory"]?.intValue == 256)

            // The third plan saw the same state as the second, which has since moved on.
            let third = try harness.kumo(["apply", "third.plan", "--auto-approve", "--no-color"])
            #expect(third.status == 1)
            #expect(third.stderr.hasPrefix("error: the saved plan cannot be applied: the state has moved on since this plan was made"), "\(third.stderr)")
        }

        func setMemory(_ harness: RuntimeHarness, _ memory: Int) throws {
            let manifest = harness.path("kumo.yaml")
            let text = try String(contentsOfFile: manifest, encoding: .utf8)
            try text.replacing(/memory: \d+/, with: "memory: \(memory)").write(toFile: manifest, atomically: true, encoding: .utf8)
        }
    }
}
