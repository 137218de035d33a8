import Foundation
import KumoTestSupport
import Testing

/// `kumo simulate`: a policy replayed against a load trace, as the README describes.
@Suite struct SimulateTests {
    static let manifest = """
        version: 1
        project: shop
        services:
          api:
            command: ["python3", "-m", "api", "--port", "${port}"]
            port: 8081
            resources: { cpu: 0.5, memory: 512 }
            healthcheck: { http: /healthz }
          batch:
            command: ["python3", "-m", "batch", "--port", "${port}"]
            port: 8082
            healthcheck: { http: /healthz }
        scaling:
          api-load:
            target: service.api
            minReplicas: 1
            maxReplicas: 10
            targetTracking: { metric: requestsPerSecond, target: 10 }
          batch-linear:
            target: service.batch
            minReplicas: 1
            maxReplicas: 10
            linear: { metric: requestsPerSecond, maxLoad: 100 }
            behavior: { scaleDown: { stabilizationWindow: 30s } }
        """

    static let trace = "time,load\n0,10\n20,50\n60,50\n90,10\n"

    /// Runs `body` in a project with the manifest above and `trace.csv`.
    func inProject(_ body: (String) throws -> Void) throws {
        try KumoTestSupport.withTemporaryDirectory { dir in
            try Self.manifest.write(toFile: dir + "/kumo.yaml", atomically: true, encoding: .utf8)
            try Self.trace.write(toFile: dir + "/trace.csv", atomically: true, encoding: .utf8)
            try body(dir)
        }
    }

    func kumo(_ arguments: [String], in dir: String) throws -> KumoTestSupport.Output {
        try KumoTestSupport.run(["simulate"] + arguments, directory: dir)
    }

    @Test func printsEveryStepAndTheSummaryAsJSON() throws {
        try inProject { dir in
            let result = try kumo(["--policy", "scaling.api-load", "--trace", "trace.csv", "--json"], in: dir)
            #expect(result.status == 0, "\(result.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            #expect(Set(object.keys) == ["policy", "interval", "steps", "summary"])
            #expect(object["policy"] as? String == "scaling.api-load")
            #expect(object["interval"] as? Int == 15)
            let steps = try #require(object["steps"] as? [[String: Any]])
            #expect(steps.map { Set($0.keys) }.allSatisfy { $0 == ["t", "load", "recommendation", "replicas", "reason"] })
            #expect(steps.map { $0["t"] as? Int } == [0, 15, 30, 45, 60, 75, 90])
            #expect(steps.map { $0["load"] as? Int } == [10, 10, 50, 50, 50, 50, 10])
            #expect(steps.map { $0["recommendation"] as? Int } == [1, 1, 5, 5, 5, 5, 1])
            #expect(steps.map { $0["replicas"] as? Int } == [1, 1, 5, 5, 5, 5, 5])
            #expect(steps[0]["reason"] as? String == "within tolerance: metric at 100 % of target")
            #expect(steps[2]["reason"] as? String == "as recommended")
            #expect(steps[6]["reason"] as? String == "scale-down stabilized: highest recommendation of the last 5m was 5")
            let summary = try #require(object["summary"] as? [String: Any])
            #expect(Set(summary.keys) == ["peak_replicas", "replica_seconds", "cost", "seconds_over_capacity", "scale_events"])
            #expect(summary["peak_replicas"] as? Int == 5)
            #expect(summary["replica_seconds"] as? Int == 330)
            #expect(summary["seconds_over_capacity"] as? Int == 10)
            #expect(summary["scale_events"] as? Int == 1)
            // 0.5 vCPU and 512 MB at the built-in prices, for 330 replica-seconds.
            let cost = try #require(summary["cost"] as? Double)
            #expect(abs(cost - 330.0 / 3600 * (0.5 * 0.04048 + 0.5 * 0.004445)) < 1e-12)
        }
    }

    @Test func printsTheChangesAndASummaryAsText() throws {
        try inProject { dir in
            let result = try kumo(["--policy", "api-load", "--trace", "trace.csv", "--startup", "20s"], in: dir)
            #expect(result.status == 0, "\(result.stderr)")
            let expected = """
                scaling.api-load → service.api: targetTracking: 10 requests/s per replica, 1–10 replicas, every 15s

                time      load  recommended  replicas  ready  reason
                00:00:00    10            1         1      1  within tolerance: metric at 100 % of target
                00:00:30    50            5         5      1  as recommended
                00:01:30    10            1         5      5  scale-down stabilized: highest recommendation of the last 5m was 5
                (7 evaluations; 3 shown: the first, the last and each change of count; --all shows every one)

                Over 1m30s of trace, new replicas serving after 20s:
                  peak replicas    5
                  replica-seconds  330 (0.09 replica-hours)
                  cost             $0.0021 at $0.022463 per replica-hour
                  over capacity    30 s (33.3 % of the time): load above ready replicas × 10 requests/s
                  scale events     1

                """
            #expect(result.stdout == expected)
        }
    }

    @Test func errorsNameTheLineOrThePolicy() throws {
        try inProject { dir in
            try "time,load\n0,1\n15,abc\n".write(toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
            let bad = try kumo(["--policy", "scaling.api-load", "--trace", "bad.csv"], in: dir)
            #expect(bad.status == 1)
            #expect(bad.stdout.isEmpty)
            #expect(bad.stderr == "error: bad.csv:3: load 'abc' is not a number\n")

            let unknown = try kumo(["--policy", "scaling.api-lod", "--trace", "trace.csv"], in: dir)
            #expect(unknown.status == 1)
            #expect(unknown.stderr == "error: no scaling policy 'scaling.api-lod' in project 'shop'; did you mean 'scaling.api-load'?\n")

            let missing = try kumo(["--policy", "api-load", "--trace", "nowhere.csv"], in: dir)
            #expect(missing.status == 1 && missing.stderr == "error: cannot read the trace 'nowhere.csv': No such file or directory\n", "\(missing.stderr)")

            try Data([0x74, 0x69, 0x6D, 0x65, 0xFF, 0x00, 0x0A]).write(to: URL(fileURLWithPath: dir + "/binary.csv"))
            let binary = try kumo(["--policy", "api-load", "--trace", "binary.csv"], in: dir)
            #expect(binary.status == 1 && binary.stderr == "error: binary.csv:1: expected the header 'time,load', got 'time\u{FFFD}?'\n", "\(binary.stderr)")

            let interval = try kumo(["--policy", "api-load", "--trace", "trace.csv", "--interval", "0s"], in: dir)
            #expect(interval.status == 1 && interval.stderr == "error: --interval takes a duration such as 15s or 1m, got '0s'\n", "\(interval.stderr)")
            let nothing = try kumo(["--trace", "trace.csv"], in: dir)
            #expect(nothing.status == 1 && nothing.stderr == "error: missing --policy scaling.NAME (or --compare)\n", "\(nothing.stderr)")
        }
    }

    @Test func comparesPoliciesSideBySide() throws {
        try inProject { dir in
            let text = try kumo(["--trace", "trace.csv", "--compare", "scaling.api-load", "scaling.batch-linear"], in: dir)
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.contains("                       scaling.api-load  scaling.batch-linear\n"), "\(text.stdout)")
            #expect(text.stdout.contains("peak replicas                         5                     6\n"), "\(text.stdout)")

            let json = try kumo(["--trace", "trace.csv", "--compare", "scaling.api-load", "scaling.batch-linear", "--json"], in: dir)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let runs = try #require(object["policies"] as? [[String: Any]])
            #expect(runs.map { $0["policy"] as? String } == ["scaling.api-load", "scaling.batch-linear"])
            let peaks = runs.map { ($0["summary"] as? [String: Any])?["peak_replicas"] as? Int }
            #expect(peaks == [5, 6])
        }
    }

    @Test func comparesOnePolicyAcrossTwoProjects() throws {
        try inProject { dir in
            try FileManager.default.createDirectory(atPath: dir + "/after", withIntermediateDirectories: true)
            let after = Self.manifest.replacingOccurrences(of: "targetTracking: { metric: requestsPerSecond, target: 10 }",
                                                           with: "targetTracking: { metric: requestsPerSecond, target: 25 }")
            try after.write(toFile: dir + "/after/kumo.yaml", atomically: true, encoding: .utf8)
            let result = try kumo(["--trace", "trace.csv", "--policy", "scaling.api-load", "--compare", ".", "after", "--json"], in: dir)
            #expect(result.status == 0, "\(result.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let runs = try #require(object["policies"] as? [[String: Any]])
            #expect(runs.map { $0["source"] as? String } == [".", "after"])
            #expect(runs.map { ($0["summary"] as? [String: Any])?["peak_replicas"] as? Int } == [5, 2])
        }
    }
}
