import Foundation
import KumoManifest
import KumoPlan
import KumoTestSupport
import Testing

/// Live autoscaling: policies evaluated every second move a service's replicas with its load
/// and back, and scale a service and a function to zero, after which a request still succeeds.
@Suite(.serialized) struct ScalingRuntimeTests {
    struct Project {
        var harness: RuntimeHarness
        var webPort: Int
        var idlePort: Int

        func detail(_ address: String) async throws -> ConfigValue? { try await harness.detail(address) }

        func replicas(_ service: String) async throws -> Int {
            try await detail("service.\(service)")?["replicas"]?.intValue ?? -1
        }

        func ready(_ service: String) async throws -> Int {
            try await detail("service.\(service)")?["replicas_ready"]?.intValue ?? -1
        }
    }

    func applied() throws -> Project {
        let harness = try RuntimeHarness(copying: "Tests/KumoRuntimeTests/Fixtures/scaling")
        var ports: [Int] = []
        for _ in 0..<2 {
            let (fd, port) = RuntimeHarness.boundSocket()
            close(fd)
            ports.append(port)
        }
        let path = harness.directory + "/kumo.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "webPort: \"18383\", idlePort: \"18384\"", with: "webPort: \"\(ports[0])\", idlePort: \"\(ports[1])\"")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let start = try harness.kumo(["runtime", "start", "--gateway-port", "0", "--scaling-interval", "1s"])
        guard start.status == 0 else { throw HarnessError("runtime start failed: \(start.stderr)") }
        let apply = try harness.kumo(["apply", "--auto-approve", "--no-color"])
        guard apply.status == 0 else { throw HarnessError("apply failed: \(apply.stdout)\n\(apply.stderr)") }
        return Project(harness: harness, webPort: ports[0], idlePort: ports[1])
    }

    @Test func aServiceScalesOutUnderLoadAndBackAfterTheWindow() async throws {
        let project = try applied()
        #expect(try await project.replicas("web") == 1)
        // About 40 requests a second for a while: 8 per replica over a target of 5 → the max, 3.
        let loadEnds = Date().addingTimeInterval(8)
        let load = Task {
            var answered = 0, failed = 0
            while Date() < loadEnds {
                await withTaskGroup(of: Bool.self) { group in
                    for _ in 0..<4 { group.addTask { (try? await project.harness.http(.GET, port: project.webPort, "/"))?.status == 200 } }
                    for await ok in group { if ok { answered += 1 } else { failed += 1 } }
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return (answered, failed)
        }
        #expect(try await RuntimeHarness.waitUntil(timeout: 8) { try await project.ready("web") == 3 }, "scaled out to maxReplicas")
        let (answered, failed) = await load.value
        #expect(failed == 0, "no request failed while scaling: \(answered) answered")
        let decision = try #require(try await project.detail("scaling.web-load")?["last_decision"])
        #expect(decision["metric"]?.stringValue == "requestsPerSecond")
        // No load: back to minReplicas once the 3 s scale-down window has passed.
        #expect(try await RuntimeHarness.waitUntil(timeout: 15) { try await project.replicas("web") == 1 }, "back to minReplicas")
        let log = try String(contentsOfFile: project.harness.directory + "/.kumo/logs/scaling.web-load.log", encoding: .utf8)
        #expect(log.contains("service.web: requestsPerSecond"), "decisions are logged with their inputs")
        #expect(log.contains("→ 3"))
        #expect(log.contains("→ 1"))
        let status = try project.harness.kumo(["status"])
        #expect(status.stdout.contains("scaling.web-load"))
        #expect(status.stdout.contains("requestsPerSecond"))
    }

    @Test func aServiceAndAFunctionScaledToZeroAnswerTheirNextRequest() async throws {
        let project = try applied()
        #expect(try await RuntimeHarness.waitUntil(timeout: 15) {
            let idle = try await project.detail("service.idle")
            let echo = try await project.detail("function.echo")
            return idle?["replicas"]?.intValue == 0 && idle?["pids"]?.arrayValue?.isEmpty == true
                && echo?["warm"]?.intValue == 0 && echo?["busy"]?.intValue == 0
        }, "both scaled to zero")
        // The front port holds the request while a replica starts, instead of failing it.
        let answer = try await project.harness.http(.GET, port: project.idlePort, "/")
        #expect(answer.status == 200)
        #expect(try await project.ready("idle") == 1)
        let invoked = try await project.harness.invoke("echo", "{}")
        #expect(invoked.status == 200)
        #expect(invoked.json?["ok"] == .bool(true))
        let log = try String(contentsOfFile: project.harness.directory + "/.kumo/logs/service.idle.log", encoding: .utf8)
        #expect(log.contains("a request arrived with no replica running"))
    }
}

extension ScalingRuntimeTests {
    /// `/metrics` in the Prometheus text format, found through `kumo runtime status`.
    @Test func metricsAreScrapedAndParsed() async throws {
        let project = try applied()
        for _ in 0..<3 { #expect(try await project.harness.invoke("echo", "{}").status == 200) }
        #expect(try await project.harness.http(.GET, port: project.webPort, "/").status == 200)
        let status = try project.harness.kumo(["runtime", "status"])
        let line = try #require(status.stdout.split(separator: "\n").first { $0.contains("/metrics") })
        let url = try #require(line.split(separator: " ").last.map(String.init))
        let port = try #require(Int(url.split(separator: ":").last!.split(separator: "/").first!))
        let scrape = try await project.harness.http(.GET, port: port, "/metrics")
        #expect(scrape.status == 200)
        #expect(scrape.headers.first(name: "Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        // Every sample line is NAME{LABELS} VALUE of a declared family.
        var types: [String: String] = [:]
        var samples: [String: Double] = [:]
        for line in scrape.body.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("#") { continue }
            let space = try #require(line.lastIndex(of: " "), "\(line)")
            let value = try #require(Double(line[line.index(after: space)...]), "\(line)")
            let series = String(line[..<space])
            let family = String(series.prefix { $0 != "{" })
            #expect(types.keys.contains { family == $0 || family.hasPrefix($0 + "_") }, "a sample of an undeclared family: \(line)")
            samples[series] = value
        }
        #expect(types["kumo_function_invocations_total"] == "counter")
        #expect(types["kumo_function_duration_seconds"] == "histogram")
        #expect(samples["kumo_function_invocations_total{function=\"echo\"}"] == 3)
        #expect(samples["kumo_function_duration_seconds_count{function=\"echo\"}"] == 3)
        #expect(samples["kumo_service_replicas{service=\"web\",state=\"desired\"}"] == 1)
        #expect(samples["kumo_service_requests_total{service=\"web\"}"] == 1)
        // A decision of the live autoscaler has been made by now (every second).
        #expect(try await RuntimeHarness.waitUntil(timeout: 5) {
            let again = try await project.harness.http(.GET, port: port, "/metrics")
            return again.body.contains("kumo_scaling_decisions_total{policy=\"web-load\"")
        })
    }
}
