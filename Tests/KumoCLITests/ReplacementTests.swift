import Foundation
import KumoTestSupport
import Testing

/// What forces a replacement, as `kumo plan` shows it: a function's `runtime`, a service's
/// `port` or `image`, a scaling policy's `target`; anything else is an update in place.
@Suite struct ReplacementTests {
    static func manifest(image: String, target: String, port: Int, runtime: String, replicas: Int) -> String {
        """
        version: 1
        project: replace
        functions:
          job: { runtime: \(runtime), command: [cat] }
        services:
          api:
            command: [python3, -m, http.server, "${port}"]
            image: \(image)
            port: \(port)
            healthcheck: { tcp: true }
          web:
            command: [python3, -m, http.server, "${port}"]
            replicas: \(replicas)
            healthcheck: { tcp: true }
        scaling:
          apiScale:
            target: \(target)
            maxReplicas: 4
            targetTracking: { metric: requestsPerSecond, target: 50 }

        """
    }

    @Test func forcedFieldsReplaceAndOthersUpdateInPlace() throws {
        try KumoTestSupport.withTemporaryDirectory { dir in
            let manifest = dir + "/kumo.yaml"
            try ReplacementTests.manifest(image: "registry.example/api:1", target: "service.api", port: 18080, runtime: "exec", replicas: 1)
                .write(toFile: manifest, atomically: true, encoding: .utf8)
            try Support.apply(project: dir, to: dir + "/.kumo/state.db")
            let same = try KumoTestSupport.run(["plan", dir, "--detailed-exitcode"])
            #expect(same.status == 0, "the applied state plans as no change: \(same.stdout) \(same.stderr)")

            // One forcing field at a time, each on its own resource; `replicas` is the control.
            try ReplacementTests.manifest(image: "registry.example/api:2", target: "service.web", port: 18080, runtime: "exec", replicas: 2)
                .write(toFile: manifest, atomically: true, encoding: .utf8)
            let json = try KumoTestSupport.run(["plan", dir, "--json"])
            #expect(json.status == 0, "\(json.stderr)")
            let plan = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let changes = Dictionary(uniqueKeysWithValues: (plan["resource_changes"] as? [[String: Any]] ?? []).map { ($0["address"] as? String ?? "", $0) })
            func expectReplaced(_ address: String, by field: String, sourceLocation: SourceLocation = #_sourceLocation) {
                let change = changes[address]
                #expect(change?["action"] as? String == "replace", "\(address): \(change ?? [:])", sourceLocation: sourceLocation)
                #expect(change?["actions"] as? [String] == ["delete", "create"], sourceLocation: sourceLocation)
                #expect(change?["replace_paths"] as? [String] == [field], sourceLocation: sourceLocation)
                #expect(change?["reasons"] as? [String] == ["'\(field)' forces replacement"], sourceLocation: sourceLocation)
                let fields = change?["changed_fields"] as? [[String: Any]] ?? []
                #expect(fields.first { $0["path"] as? String == field }?["forces_replacement"] as? Bool == true, sourceLocation: sourceLocation)
            }
            expectReplaced("service.api", by: "image")
            expectReplaced("scaling.apiScale", by: "target")
            #expect(changes["service.web"]?["action"] as? String == "update", "\(changes["service.web"] ?? [:])")
            #expect(changes["function.job"]?["action"] as? String == "no-op")

            let text = try KumoTestSupport.run(["plan", dir, "--no-color"])
            #expect(text.stdout.contains("# service.api must be replaced ('image' forces replacement)"), "\(text.stdout)")
            #expect(text.stdout.contains("~ image = \"registry.example/api:1\" → \"registry.example/api:2\"  # forces replacement")
                || text.stdout.contains("~ image = registry.example/api:1 → registry.example/api:2  # forces replacement"), "\(text.stdout)")
            #expect(text.stdout.contains("# scaling.apiScale must be replaced ('target' forces replacement)"), "\(text.stdout)")
            #expect(text.stdout.contains("Plan: 0 to add, 1 to change, 2 to replace, 0 to destroy."), "\(text.stdout)")

            // The two the planner tests already cover, through the binary too: port and runtime.
            try ReplacementTests.manifest(image: "registry.example/api:1", target: "service.api", port: 18081, runtime: "provided", replicas: 1)
                .write(toFile: manifest, atomically: true, encoding: .utf8)
            let others = try KumoTestSupport.run(["plan", dir, "--no-color"])
            #expect(others.stdout.contains("# service.api must be replaced ('port' forces replacement)"), "\(others.stdout)")
            #expect(others.stdout.contains("# function.job must be replaced ('runtime' forces replacement)"), "\(others.stdout)")
        }
    }
}
