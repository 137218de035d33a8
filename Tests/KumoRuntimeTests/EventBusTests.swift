import Foundation
import KumoManifest
import KumoPlan
import KumoRuntime
import KumoTestSupport
import Testing

/// The event bus end to end: boto3's events client against the gateway, deliveries into a
/// function and a service, retries into the dead-letter queue, redrive, replay, schedules, and
/// a runtime killed with undelivered events.
@Suite(.serialized) struct EventBusTests {
    struct Project {
        var harness: RuntimeHarness
        var hooksPort: Int
        var out: String { harness.directory + "/out" }

        func lines(_ file: String) -> [ConfigValue] {
            let text = (try? String(contentsOfFile: out + "/" + file, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { try? ConfigValue(json: String($0)) }
        }

        func hooks(path: String) -> [ConfigValue] { lines("hooks.jsonl").filter { $0["path"]?.stringValue == path } }

        func setHooksStatus(_ status: Int) throws {
            try "\(status)\n".write(toFile: out + "/hooks-status", atomically: true, encoding: .utf8)
        }

        func kumoJSON(_ arguments: [String]) throws -> ConfigValue {
            let result = try harness.kumo(arguments + ["--json"])
            guard result.status == 0 else { throw HarnessError("kumo \(arguments.joined(separator: " ")) failed: \(result.stderr)") }
            return try ConfigValue(json: result.stdout)
        }

        /// Statuses of every delivery of the last `limit` events, by rule.
        func deliveries(rule: String, limit: Int = 2000) throws -> [String] {
            let list = try kumoJSON(["events", "list", "--rule", rule, "--limit", String(limit)])
            return (list["events"]?.arrayValue ?? []).flatMap { ($0["deliveries"]?.arrayValue ?? []).compactMap { $0["status"]?.stringValue } }
        }

        func python(_ script: String) throws -> String {
            try script.write(toFile: harness.directory + "/client.py", atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", harness.directory + "/client.py"]
            var environment = ProcessInfo.processInfo.environment
            environment["AWS_EC2_METADATA_DISABLED"] = "true"
            process.environment = environment
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw HarnessError("python failed: \(stdout)\n\(stderr)") }
            return stdout
        }

        var boto3: String {
            """
            import json, boto3
            events = boto3.client("events", endpoint_url="http://127.0.0.1:\(harness.info?.gatewayPort ?? 0)", region_name="us-east-1",
                                  aws_access_key_id="test", aws_secret_access_key="test")
            def order(i, total):
                return {"Source": "shop.orders", "DetailType": "OrderPlaced", "Detail": json.dumps({"id": i, "total": total})}

            """
        }
    }

    func applied() throws -> Project {
        let harness = try RuntimeHarness(copying: "Tests/KumoRuntimeTests/Fixtures/events")
        let (fd, port) = RuntimeHarness.boundSocket()
        close(fd)
        let out = harness.directory + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let path = harness.directory + "/kumo.yaml"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "default: { out: \"/tmp\", hooksPort: \"18282\" }", with: "default: { out: \"\(out)\", hooksPort: \"\(port)\" }")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        _ = try harness.startRuntime()
        let apply = try harness.kumo(["apply", "--auto-approve", "--no-color"])
        guard apply.status == 0 else { throw HarnessError("apply failed: \(apply.stdout)\n\(apply.stderr)") }
        return Project(harness: harness, hooksPort: port)
    }

    @Test func boto3PutsEventsThatReachAFunctionAndAService() async throws {
        let project = try applied()
        defer { project.harness.tearDown() }
        let output = try project.python(project.boto3 + """
            put = events.put_events(Entries=[order(1, 150), order(2, 50), {"Source": "shop.orders"}])
            assert put["FailedEntryCount"] == 1, put
            assert "EventId" in put["Entries"][0] and "EventId" in put["Entries"][1], put
            assert put["Entries"][2]["ErrorCode"] == "InvalidArgument", put
            envelope = {"id": "1", "account": "1", "source": "shop.orders", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
                        "resources": [], "detail-type": "OrderPlaced", "detail": {"total": 101}}
            pattern = json.dumps({"source": ["shop.orders"], "detail": {"total": [{"numeric": [">", 100]}]}})
            assert events.test_event_pattern(EventPattern=pattern, Event=json.dumps(envelope))["Result"] is True
            envelope["detail"]["total"] = 100
            assert events.test_event_pattern(EventPattern=pattern, Event=json.dumps(envelope))["Result"] is False
            try:
                events.test_event_pattern(EventPattern=json.dumps({"source": [{"prefx": "shop"}]}), Event=json.dumps(envelope))
                raise SystemExit("expected InvalidEventPatternException")
            except events.exceptions.InvalidEventPatternException:
                pass
            try:
                events.put_events(Entries=[order(i, 1) for i in range(11)])
                raise SystemExit("expected a ValidationException for 11 entries")
            except events.exceptions.ClientError as e:
                assert e.response["Error"]["Code"] == "ValidationException", e.response
            names = sorted(r["Name"] for r in events.list_rules()["Rules"])
            assert names == ["bulk", "flaky", "minutely", "orders", "tick"], names
            rule = events.describe_rule(Name="orders")
            assert rule["State"] == "ENABLED" and json.loads(rule["EventPattern"])["source"] == ["shop.orders"], rule
            assert events.describe_rule(Name="tick")["ScheduleExpression"] == "rate(1 day)"
            try:
                events.describe_rule(Name="nope")
                raise SystemExit("expected ResourceNotFoundException")
            except events.exceptions.ResourceNotFoundException:
                pass
            print(put["Entries"][0]["EventId"])
            """)
        let eventID = output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await RuntimeHarness.waitUntil(timeout: 20) {
            project.lines("function.jsonl").count == 1 && project.hooks(path: "/hooks/orders").count == 1
        })
        // The function got the transformed input; the service the whole event.
        let received = try #require(project.lines("function.jsonl").first)
        #expect(received == (try ConfigValue(json: "{\"orderId\": 1, \"rule\": \"orders\", \"total\": 150}")))
        let hook = try #require(project.hooks(path: "/hooks/orders").first)
        #expect(hook["event_id"]?.stringValue == eventID)
        #expect(hook["body"]?["detail"]?["id"]?.intValue == 1)
        #expect(hook["body"]?["detail-type"]?.stringValue == "OrderPlaced")
        #expect(try project.deliveries(rule: "orders") == ["delivered", "delivered"])
        let status = try project.kumoJSON(["status"])
        let orders = try #require(status["resources"]?.arrayValue?.first { $0["address"]?.stringValue == "rule.orders" })
        #expect(orders["detail"]?["matched"]?.intValue == 1)
        #expect(orders["detail"]?["delivered"]?.intValue == 2)
        #expect(orders["detail"]?["dead_lettered"]?.intValue == 0)
    }

    @Test func aFailingTargetEndsInTheDeadLetterQueueAndRedriveDeliversIt() async throws {
        let project = try applied()
        defer { project.harness.tearDown() }
        try project.setHooksStatus(503)
        let put = try project.harness.kumo(["events", "put", "--source", "shop.flaky", "--detail-type", "Test", "--detail", "{\"n\": 7}"])
        #expect(put.status == 0, "\(put.stderr)")
        // One attempt and maximumRetryAttempts (2) retries, then the dead-letter queue.
        #expect(try await RuntimeHarness.waitUntil(timeout: 30) { try project.deliveries(rule: "flaky") == ["dead-lettered"] })
        let dlq = try project.kumoJSON(["events", "dlq"])
        let letter = try #require(dlq["deliveries"]?.arrayValue?.first)
        #expect(letter["attempts"]?.intValue == 3)
        #expect(letter["error_code"]?.stringValue == "HTTP_503")
        #expect(letter["error_message"]?.stringValue?.contains("maximumRetryAttempts (2)") == true)
        #expect(letter["rule"]?.stringValue == "rule.flaky")
        #expect(letter["target"]?.stringValue == "service.hooks")
        #expect(project.hooks(path: "/hooks/flaky").isEmpty)
        let status = try project.kumoJSON(["status"])
        let flaky = try #require(status["resources"]?.arrayValue?.first { $0["address"]?.stringValue == "rule.flaky" })
        #expect(flaky["detail"]?["dead_lettered"]?.intValue == 1)

        try project.setHooksStatus(200)
        let redrive = try project.kumoJSON(["events", "redrive", "--rule", "flaky"])
        #expect(redrive["deliveries"]?.intValue == 1)
        #expect(try await RuntimeHarness.waitUntil(timeout: 20) { project.hooks(path: "/hooks/flaky").count == 1 })
        #expect(project.hooks(path: "/hooks/flaky").first?["body"]?["detail"]?["n"]?.intValue == 7)
        #expect(try project.deliveries(rule: "flaky") == ["delivered"])
        #expect(try project.kumoJSON(["events", "dlq"])["deliveries"]?.arrayValue?.isEmpty == true)
    }

    @Test func aRuntimeKilledWithUndeliveredEventsDeliversEachOnceAfterItRestarts() async throws {
        let project = try applied()
        defer { project.harness.tearDown() }
        // 100 delivered before the kill; 900 accepted while the target fails, then the kill.
        _ = try project.python(project.boto3 + """
            for b in range(10):
                put = events.put_events(Entries=[{"Source": "shop.bulk", "DetailType": "Bulk", "Detail": json.dumps({"n": b * 10 + i})} for i in range(10)])
                assert put["FailedEntryCount"] == 0, put
            """)
        #expect(try await RuntimeHarness.waitUntil(timeout: 30) { project.hooks(path: "/hooks/bulk").count == 100 })
        try project.setHooksStatus(503)
        _ = try project.python(project.boto3 + """
            for b in range(10, 100):
                put = events.put_events(Entries=[{"Source": "shop.bulk", "DetailType": "Bulk", "Detail": json.dumps({"n": b * 10 + i})} for i in range(10)])
                assert put["FailedEntryCount"] == 0, put
            """)
        let pid = try #require(project.harness.info?.pid)
        kill(pid, SIGKILL)
        #expect(try await RuntimeHarness.waitUntil(timeout: 10) { kill(pid, 0) != 0 })
        try project.setHooksStatus(200)
        _ = try project.harness.startRuntime()
        #expect(try await RuntimeHarness.waitUntil(timeout: 60) { Set(project.hooks(path: "/hooks/bulk").compactMap { $0["body"]?["detail"]?["n"]?.intValue }).count == 1000 })
        let numbers = project.hooks(path: "/hooks/bulk").compactMap { $0["body"]?["detail"]?["n"]?.intValue }
        #expect(numbers.count == 1000, "each event once: \(numbers.count) deliveries for \(Set(numbers).count) events")
        #expect(Set(numbers) == Set(0..<1000))
    }

    @Test func replaySendsArchivedEventsThroughTodaysRules() async throws {
        let project = try applied()
        defer { project.harness.tearDown() }
        let from = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-5))
        _ = try project.python(project.boto3 + """
            events.put_events(Entries=[order(1, 200), order(2, 300), order(3, 1)])
            """)
        #expect(try await RuntimeHarness.waitUntil(timeout: 20) { project.lines("function.jsonl").count == 2 })
        let to = ISO8601DateFormatter().string(from: Date().addingTimeInterval(1))
        let replay = try project.kumoJSON(["events", "replay", "--from", from, "--to", to, "--rule", "orders"])
        #expect(replay["events"]?.intValue == 2)
        #expect(replay["deliveries"]?.intValue == 4)
        #expect(try await RuntimeHarness.waitUntil(timeout: 20) { project.hooks(path: "/hooks/orders").count == 4 })
        let replayed = project.hooks(path: "/hooks/orders").filter { $0["body"]?["replay-name"]?.stringValue == replay["replay_name"]?.stringValue }
        #expect(Set(replayed.compactMap { $0["body"]?["detail"]?["id"]?.intValue }) == [1, 2])
        #expect(project.lines("function.jsonl").count == 4)
    }

    @Test func schedulesFireOnDemandAsScheduledEvents() async throws {
        let project = try applied()
        defer { project.harness.tearDown() }
        let fired = try project.kumoJSON(["events", "fire", "tick"])
        #expect(fired["events"]?.intValue == 1)
        let trigger = try project.kumoJSON(["events", "fire", "function.record"])
        #expect(trigger["events"]?.intValue == 1)
        #expect(try await RuntimeHarness.waitUntil(timeout: 20) { project.lines("function.jsonl").count == 2 })
        let received = project.lines("function.jsonl")
        #expect(received.contains { $0["tick"] == .bool(true) }, "the rule's constant input")
        #expect(received.contains { $0["detail-type"]?.stringValue == "Scheduled Event" && $0["source"]?.stringValue == "aws.events" },
                "the trigger's scheduled event")
        let missing = try project.harness.kumo(["events", "fire", "orders"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("has no schedule"))
        let status = try project.kumoJSON(["status"])
        let tick = try #require(status["resources"]?.arrayValue?.first { $0["address"]?.stringValue == "rule.tick" })
        #expect(tick["detail"]?["schedule"]?.stringValue == "rate(1 day)")
        #expect(tick["detail"]?["next_fire"]?.stringValue != nil)
    }

    @Test func aScheduleFiresOnTheClock() async throws {
        let project = try applied()
        defer { project.harness.tearDown() }
        let path = project.harness.directory + "/kumo.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "enabled: false", with: "enabled: true").write(toFile: path, atomically: true, encoding: .utf8)
        let apply = try project.harness.kumo(["apply", "--auto-approve", "--no-color"])
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
        let status = try project.kumoJSON(["status"])
        let minutely = try #require(status["resources"]?.arrayValue?.first { $0["address"]?.stringValue == "rule.minutely" })
        let next = try #require(minutely["detail"]?["next_fire"]?.stringValue)
        #expect(next.hasSuffix(":00.000Z"), "a minute's start: \(next)")
        // The next minute's start, then the delivery.
        #expect(try await RuntimeHarness.waitUntil(timeout: 75) { project.lines("function.jsonl").contains { $0["minute"] == .bool(true) } })
        let events = try project.kumoJSON(["events", "list", "--rule", "minutely"])
        let fired = try #require(events["events"]?.arrayValue?.first)
        #expect(fired["origin"]?.stringValue == "schedule")
        #expect(fired["detail_type"]?.stringValue == "Scheduled Event")
    }
}

extension EventBusTests {
    /// Lambda's `Event` invocations go through the bus: kept before the 202, retried under the
    /// function's invokeConfig (2 retries), then dead-lettered (onFailure: dlq).
    @Test func asynchronousInvocationsAreRetriedThenDeadLettered() async throws {
        let project = try applied()
        defer { project.harness.tearDown() }
        _ = try project.python(project.boto3 + """
            lam = boto3.client("lambda", endpoint_url=events.meta.endpoint_url, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")
            for key, failures in (("twice", 2), ("always", 9)):
                answer = lam.invoke(FunctionName="record", InvocationType="Event", Payload=json.dumps({"key": key, "failures": failures}))
                assert answer["StatusCode"] == 202, answer
            """)
        // Two failures, then the third attempt (the second retry) succeeds.
        #expect(try await RuntimeHarness.waitUntil(timeout: 30) { project.lines("function.jsonl").contains { $0["key"]?.stringValue == "twice" } })
        #expect(try await RuntimeHarness.waitUntil(timeout: 30) {
            (try project.kumoJSON(["events", "dlq"])["deliveries"]?.arrayValue ?? []).count == 1
        })
        let letter = try #require(try project.kumoJSON(["events", "dlq"])["deliveries"]?.arrayValue?.first)
        #expect(letter["target"]?.stringValue == "function.record")
        #expect(letter["attempts"]?.intValue == 3)
        #expect(letter["error_code"]?.stringValue == "FUNCTION_ERROR")
        #expect(letter["error_message"]?.stringValue?.contains("invokeConfig.maximumRetryAttempts (2)") == true)
        #expect(letter["input"]?.stringValue?.contains("always") == true)
        #expect(!project.lines("function.jsonl").contains { $0["key"]?.stringValue == "always" })
        let attempts = try String(contentsOfFile: project.out + "/function.jsonl.always", encoding: .utf8)
        #expect(attempts == "3")
    }
}
