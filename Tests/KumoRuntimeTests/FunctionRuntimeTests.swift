import Foundation
import KumoManifest
import KumoPlan
import KumoRuntime
import KumoState
import NIOHTTP1
import Testing

/// End to end: the real `kumo` binary, a real runtime, real worker processes on loopback.
@Suite(.serialized) struct FunctionRuntimeTests {
    static let secret = ["KUMO_TEST_TOKEN": "s3cret-value", "KUMO_SENTINEL": "must-not-reach-workers"]

    func applied() throws -> RuntimeHarness {
        let harness = try RuntimeHarness(copying: "Tests/KumoRuntimeTests/Fixtures/runtime", environment: FunctionRuntimeTests.secret)
        _ = try harness.startRuntime()
        let apply = try harness.kumo(["apply", "--auto-approve"])
        guard apply.status == 0 else { throw HarnessError("apply failed: \(apply.stdout)\n\(apply.stderr)") }
        return harness
    }

    @Test func httpTriggersRunPythonAndNodeHandlers() async throws {
        let harness = try applied()
        let echo = try await harness.gateway(.POST, "/echo/42?x=1&x=2&y=z", body: "{\"hello\":true}", headers: [("Content-Type", "application/json"), ("Cookie", "a=1; b=2")])
        #expect(echo.status == 200)
        let result = try #require(echo.json)
        let event = try #require(result["event"])
        #expect(event["version"]?.stringValue == "2.0")
        #expect(event["routeKey"]?.stringValue == "POST /echo/{id}")
        #expect(event["rawPath"]?.stringValue == "/echo/42")
        #expect(event["rawQueryString"]?.stringValue == "x=1&x=2&y=z")
        #expect(event["pathParameters"]?["id"]?.stringValue == "42")
        #expect(event["queryStringParameters"]?["x"]?.stringValue == "1,2")
        #expect(event["cookies"]?.arrayValue?.count == 2)
        #expect(event["body"]?.stringValue == "{\"hello\":true}")
        #expect(event["requestContext"]?["http"]?["method"]?.stringValue == "POST")
        #expect(result["function"]?.stringValue == "echo")
        #expect(result["memory"]?.intValue == 128)
        #expect((result["remainingMs"]?.intValue ?? 0) > 0 && (result["remainingMs"]?.intValue ?? 0) <= 3000)
        #expect(result["greeting"]?.stringValue == "hello")
        #expect(result["tokenSet"] == .bool(true), "the secret reaches the worker")

        // Only the declared environment and the Lambda variables: nothing of the runtime's own.
        let names = Set(result["environment"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(names.contains("AWS_LAMBDA_FUNCTION_NAME") && names.contains("AWS_LAMBDA_RUNTIME_API") && names.contains("_HANDLER"))
        // Nothing of the runtime's own environment reaches a worker except PATH (which finds
        // the interpreter); a launcher such as a pyenv shim may add its own variables.
        let leaked = names.intersection(harness.environment.keys).subtracting(["PATH"])
        #expect(leaked.isEmpty, "leaked from the runtime: \(leaked.sorted())")
        #expect(!names.contains("KUMO_TEST_TOKEN") && !names.contains("KUMO_SENTINEL"))

        let greedy = try await harness.gateway(.GET, "/files/a/b/c.txt")
        #expect(greedy.json?["event"]?["pathParameters"]?["path"]?.stringValue == "a/b/c.txt")
        let node = try await harness.gateway(.GET, "/node?name=kumo")
        #expect(node.status == 201)
        #expect(node.body == "node says hi to kumo (nodeEcho)")
        #expect(node.headers.first(name: "x-runtime") == "node")
        #expect(try await harness.gateway(.GET, "/nowhere").status == 404)
        #expect(try await harness.gateway(.DELETE, "/node").status == 404)

        // The logs carry the request id of each invocation.
        let requestID = try #require(result["requestId"]?.stringValue)
        let logs = try harness.kumo(["logs", "echo"])
        #expect(logs.stdout.contains("[\(requestID)] START RequestId: \(requestID)"))
        #expect(logs.stdout.contains("REPORT RequestId: \(requestID)"))
    }

    /// A handler that echoes input into a header cannot hang its clients: a header value or
    /// cookie with a control character is dropped (and logged), the answer is sent, and the
    /// keep-alive connection serves the next request.
    @Test func controlCharactersInResponseHeadersAreDroppedNotHung() async throws {
        let harness = try applied()
        let port = try #require(harness.info?.gatewayPort)
        let fd = try RawHTTP.connected(port: port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        /// Reads one response with a Content-Length body.
        func response() -> String {
            var received: [UInt8] = []
            var byte: UInt8 = 0
            while !received.suffix(4).elementsEqual([13, 10, 13, 10]) {
                guard recv(fd, &byte, 1, 0) == 1 else { return String(decoding: received, as: UTF8.self) }
                received.append(byte)
            }
            let head = String(decoding: received, as: UTF8.self)
            let length = head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            var body = [UInt8](repeating: 0, count: length)
            var got = 0
            while got < length {
                let n = body[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { break }
                got += n
            }
            return head + String(decoding: body[0..<got], as: UTF8.self)
        }
        for (query, name) in [("v=a%01b", "0x01"), ("v=a%7Fb", "0x7f"), ("v=a%1Bb", "escape"), ("v=ok&c=x%02y", "cookie 0x02")] {
            try RawHTTP.sendAll(fd, Array("GET /reflect?\(query) HTTP/1.1\r\nHost: kumo\r\n\r\n".utf8))
            let answer = response()
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(name): \(answer.debugDescription)")
            #expect(!answer.lowercased().contains("set-cookie"), "\(name)")
            if query.hasPrefix("v=ok") { #expect(answer.contains("X-Test: ok") || answer.contains("x-test: ok"), "\(answer.debugDescription)") }
            else { #expect(!answer.lowercased().contains("x-test"), "\(name): \(answer.debugDescription)") }
        }
        // Log lines are written in batches: wait for the last one.
        let logged = try await RuntimeHarness.waitUntil(timeout: 5) {
            let log = (try? String(contentsOfFile: harness.directory + "/.kumo/logs/function.reflect.log", encoding: .utf8)) ?? ""
            return log.contains("dropped response header 'X-Test'") && log.contains("dropped response header 'Set-Cookie'")
        }
        #expect(logged, "both dropped headers are logged")
    }

    /// A burst of cold calls starts at most one worker per call (issue 15.9: 16 concurrent
    /// cold calls used to start 27 workers).
    @Test func aBurstOfColdCallsStartsNoMoreWorkersThanCalls() async throws {
        let harness = try applied()
        for round in 0..<6 {
            let answers = try await withThrowingTaskGroup(of: Int.self) { group -> [Int] in
                for _ in 0..<16 { group.addTask { try await harness.invoke("burst", round % 2 == 0 ? "{}" : "{\"sleep\": 0.2}").status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0 == 200 }, "round \(round): \(answers)")
        }
        let detail = try #require(try await harness.detail("function.burst"))
        let started = try #require(detail["cold_starts"]?.intValue)
        #expect(started <= 16, "\(started) workers started for bursts of 16 calls: \(detail)")
    }

    /// Clients cannot hold the gateway's connections for as long as they like (issue 15.5):
    /// one that never sends a request, one that stalls inside its headers, and one answered 400
    /// for a malformed request are all closed.
    @Test func theGatewayClosesIdleStalledAndRefusedConnections() async throws {
        let harness = try applied()
        let port = try #require(harness.info?.gatewayPort)
        async let silent = Task.detached { try RawHTTP.closedAfter(port: port, "", limit: 15) }.value
        async let stalled = Task.detached { try RawHTTP.closedAfter(port: port, "GET /reflect?v=1 HTTP/1.1\r\nHost: kumo\r\nX-Slow: ", limit: 15) }.value
        async let garbage = Task.detached { try RawHTTP.closedAfter(port: port, "NOT HTTP AT ALL\r\n\r\n", limit: 5) }.value
        let (quiet, slow, bad) = try await (silent, stalled, garbage)
        #expect(quiet.seconds != nil && quiet.seconds! < 12, "a client that sends nothing is closed after the header timeout: \(String(describing: quiet.seconds))")
        #expect(slow.seconds != nil && slow.seconds! < 12, "a client stalled in its headers is closed: \(String(describing: slow.seconds))")
        #expect(bad.received.hasPrefix("HTTP/1.1 400"), "\(bad.received)")
        #expect(bad.seconds != nil && bad.seconds! < 2, "the 400 closes the connection: \(String(describing: bad.seconds))")
        // A well-behaved keep-alive client is not cut between requests that come in time.
        let ok = try await harness.gateway(.GET, "/reflect?v=fine")
        #expect(ok.status == 200)
    }

    /// The gateway keeps at most 1024 client connections open (issue 15.5): past that a new
    /// connection is closed at once, the runtime log says so in one line however many are
    /// refused, and a connection is served again as soon as one closes.
    @Test func theGatewayRefusesConnectionsOverItsCap() async throws {
        try #require(RuntimeHarness.raiseDescriptorLimit(to: 4096), "needs 4096 descriptors for 1024 held connections")
        let harness = try RuntimeHarness(copying: "Tests/KumoRuntimeTests/Fixtures/runtime")
        let port = try harness.startRuntime().gatewayPort
        // Held without a request: the whole test must end before their 10 s header timeout.
        var held = try RawHTTP.hold(port: port, count: 1024)
        defer { for fd in held { close(fd) } }
        for attempt in 0..<5 {
            let refused = try RawHTTP.closedAfter(port: port, "", limit: 2)
            #expect(refused.seconds != nil, "connection \(1025 + attempt) over the cap is closed at once")
        }
        close(held.removeLast())
        let served = try await RuntimeHarness.waitUntil(timeout: 3) {
            let answer = try RawHTTP.closedAfter(port: port, "GET /nowhere HTTP/1.1\r\nHost: kumo\r\nConnection: close\r\n\r\n", limit: 2)
            return answer.received.hasPrefix("HTTP/1.1 404")
        }
        #expect(served, "under the cap again, a connection is served")
        let logged = try await RuntimeHarness.waitUntil(timeout: 3) { !harness.logLines("runtime", containing: "cap of 1024").isEmpty }
        #expect(logged)
        let lines = harness.logLines("runtime", containing: "cap of 1024")
        #expect(lines.count == 1 && lines[0].contains("gateway 127.0.0.1:\(port)"), "one line for five refused connections: \(lines)")
    }

    @Test func invokeAPIAndKumoInvoke() async throws {
        let harness = try applied()
        let sync = try await harness.invoke("echo", "{\"n\": 1}")
        #expect(sync.status == 200)
        #expect(sync.headers.first(name: "X-Amz-Executed-Version") == "$LATEST")
        #expect(sync.json?["event"]?["n"]?.intValue == 1)
        let async = try await harness.invoke("behave", "{}", type: "Event")
        #expect(async.status == 202)
        #expect(try await harness.invoke("echo", "{}", type: "DryRun").status == 204)
        let missing = try await harness.invoke("nope", "{}")
        #expect(missing.status == 404)
        #expect(missing.headers.first(name: "x-amzn-ErrorType") == "ResourceNotFoundException")
        let error = try await harness.invoke("behave", "{\"raise\": \"boom\"}")
        #expect(error.status == 200)
        #expect(error.headers.first(name: "X-Amz-Function-Error") == "Unhandled")
        #expect(error.json?["errorType"]?.stringValue == "ValueError")
        #expect(error.json?["errorMessage"]?.stringValue == "boom")

        let cli = try harness.kumo(["invoke", "shell", "--data", "{\"numbers\": [1, 2, 3.5]}"])
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(try ConfigValue(json: cli.stdout)["sum"]?.doubleValue == 6.5)
        try "{\"numbers\": [10]}".write(toFile: harness.directory + "/event.json", atomically: true, encoding: .utf8)
        #expect(try ConfigValue(json: try harness.kumo(["invoke", "shell", "--data", "@event.json"]).stdout)["sum"]?.intValue == 10)
        let failing = try harness.kumo(["invoke", "behave", "--data", "{\"raise\": \"bad\"}"])
        #expect(failing.status == 1 && failing.stderr.contains("ValueError"))
        let ric = try await harness.invoke("ric", "{\"via\": \"awslambdaric\"}")
        #expect(ric.status == 200, "\(ric.body)")
        #expect(ric.json?["ric"] == .bool(true))
        #expect(ric.json?["event"]?["via"]?.stringValue == "awslambdaric")
    }

    /// Bodies: `Expect: 100-continue` is answered at once; an event over Lambda's 6 MB is
    /// refused as AWS refuses it, and the gateway keeps serving.
    @Test func expectContinueAndPayloadLimits() async throws {
        let harness = try applied()
        let port = try #require(harness.info?.gatewayPort)
        let event = Array(("{\"pad\": \"" + String(repeating: "x", count: 4000) + "\"}").utf8)
        let head = "POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(event.count)\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        let (interim, rest) = try RawHTTP.expectContinue(port: port, head: head, body: event)
        #expect(interim == "HTTP/1.1 100 Continue")
        let answer = try #require(try RawHTTP.parse(rest).first)
        #expect(answer.status == 200)
        #expect(try ConfigValue(json: String(decoding: answer.body, as: UTF8.self))["event"]?["pad"]?.stringValue?.count == 4000)
        let huge = "{\"pad\": \"" + String(repeating: "y", count: 6 * 1024 * 1024) + "\"}"
        let refused = try await harness.invoke("echo", huge)
        #expect(refused.status == 413)
        #expect(refused.headers.first(name: "x-amzn-ErrorType") == "RequestEntityTooLargeException")
        #expect(try await harness.invoke("echo", "{\"n\": 2}").json?["event"]?["n"]?.intValue == 2)
    }

    @Test func boto3InvokesUnchanged() throws {
        let harness = try applied()
        let port = try #require(harness.info?.gatewayPort)
        let script = """
            import json, boto3
            client = boto3.client("lambda", endpoint_url="http://127.0.0.1:\(port)", region_name="us-east-1",
                                  aws_access_key_id="test", aws_secret_access_key="test")
            sync = client.invoke(FunctionName="echo", Payload=json.dumps({"from": "boto3"}))
            body = json.loads(sync["Payload"].read())
            assert sync["StatusCode"] == 200, sync
            assert body["event"] == {"from": "boto3"}, body
            failed = client.invoke(FunctionName="behave", Payload=json.dumps({"raise": "nope"}))
            assert failed["FunctionError"] == "Unhandled", failed
            assert json.loads(failed["Payload"].read())["errorType"] == "ValueError"
            queued = client.invoke(FunctionName="behave", InvocationType="Event", Payload=b"{}")
            assert queued["StatusCode"] == 202, queued
            try:
                client.invoke(FunctionName="missing", Payload=b"{}")
                raise SystemExit("expected ResourceNotFoundException")
            except client.exceptions.ResourceNotFoundException:
                pass
            print("boto3 ok")
            """
        try script.write(toFile: harness.directory + "/boto.py", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", harness.directory + "/boto.py"]
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("boto3 ok"))
    }

    @Test func timeoutsCrashesMemoryAndTheConcurrencyCap() async throws {
        let harness = try applied()
        // Timeout (1 s): the worker's group is killed and the call fails as Lambda's does.
        let slow = try await harness.invoke("behave", "{\"sleep\": 5}")
        #expect(slow.headers.first(name: "X-Amz-Function-Error") == "Unhandled")
        #expect(slow.json?["errorType"]?.stringValue == "Sandbox.Timedout")
        #expect(slow.json?["errorMessage"]?.stringValue?.contains("Task timed out after 1.00 seconds") == true)

        // A crash fails only its own call; the next call gets a fresh worker.
        let crash = try await harness.invoke("behave", "{\"crash\": true}")
        #expect(crash.json?["errorType"]?.stringValue == "Runtime.ExitError")
        #expect(crash.json?["errorMessage"]?.stringValue?.contains("exit status 3") == true)
        let after = try await harness.invoke("behave", "{}")
        #expect(after.json?["ok"] == .bool(true))

        // Memory: 128 MB is the limit; allocating 300 MB kills the worker.
        let hog = try await harness.invoke("behave", "{\"allocateMB\": 300}")
        #expect(hog.json?["errorType"]?.stringValue == "Runtime.OutOfMemory", "\(hog.body)")

        // Concurrency 2: a third concurrent call waits up to the timeout, then gets 429.
        async let a = harness.invoke("behave", "{\"sleep\": 0.9}")
        async let b = harness.invoke("behave", "{\"sleep\": 0.9}")
        try await Task.sleep(for: .milliseconds(150))
        let c = try await harness.invoke("behave", "{\"sleep\": 0.5}")
        let (ra, rb) = try await (a, b)
        #expect(ra.status == 200 && rb.status == 200)
        // The third call either got a worker freed within the timeout, or was throttled.
        #expect(c.status == 200 || c.status == 429)
        async let d = harness.invoke("behave", "{\"sleep\": 0.95}")
        async let e = harness.invoke("behave", "{\"sleep\": 0.95}")
        try await Task.sleep(for: .milliseconds(100))
        async let f = harness.invoke("behave", "{\"sleep\": 0.95}")
        async let g = harness.invoke("behave", "{\"sleep\": 0.95}")
        let statuses = try await [d, e, f, g].map(\.status)
        #expect(statuses.filter { $0 == 200 }.count >= 2)
        #expect(statuses.allSatisfy { $0 == 200 || $0 == 429 })
        let throttled = try await harness.invoke("behave", "{}")
        #expect(throttled.status == 200)
        let detail = try #require(try await harness.detail("function.behave"))
        #expect((detail["errors"]?.intValue ?? 0) >= 3)
    }

    @Test func warmPoolScalesToZeroAndColdCallsAreHeld() async throws {
        let harness = try applied()
        // minInstances 1: one warm worker right after apply.
        let warm = try #require(try await harness.detail("function.warm"))
        #expect(warm["warm"]?.intValue == 1)
        // echo has minInstances 0: nothing runs until called, then a worker starts and stays.
        #expect(try await harness.detail("function.echo")?["warm"]?.intValue == 0)
        let first = try await harness.invoke("echo", "{}")
        #expect(first.status == 200)
        #expect(first.headers.first(name: "X-Amz-Function-Error") == nil, "a cold call is held, not failed")
        // Ten concurrent cold calls on a function at zero: all answered.
        let behave = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<10 { group.addTask { try await harness.invoke("behave", "{\"sleep\": 0.05}").status } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(behave.filter { $0 == 200 }.count >= 2)
        // warm: idleTimeout 1 s, minInstances 1; a burst starts a second worker that goes away.
        async let x = harness.invoke("warm", "{}")
        async let y = harness.invoke("warm", "{}")
        _ = try await (x, y)
        let settled = try await RuntimeHarness.waitUntil(timeout: 8) {
            let d = try await harness.detail("function.warm")
            return d?["warm"]?.intValue == 1 && d?["busy"]?.intValue == 0 && d?["starting"]?.intValue == 0
        }
        #expect(settled, "scales back to minInstances after idleTimeout")
    }

    @Test func codeChangesReplaceWorkers() async throws {
        let harness = try applied()
        let before = try #require(try await harness.invoke("warm", "{}").json?["pid"]?.intValue)
        try "\n# changed\n".write(toFile: harness.directory + "/py/extra.py", atomically: true, encoding: .utf8)
        let plan = try harness.kumo(["plan", "--no-color"])
        #expect(plan.stdout.contains("code contents changed"))
        let apply = try harness.kumo(["apply", "--auto-approve"])
        #expect(apply.status == 0, "\(apply.stderr)")
        let after = try #require(try await harness.invoke("warm", "{}").json?["pid"]?.intValue)
        #expect(after != before, "new code runs in a new worker")
        #expect(RuntimeHarness.alive([before]).isEmpty, "the old worker stopped")
    }

    @Test func controlAPIRefusesRequestsWithoutTheToken() async throws {
        let harness = try applied()
        let info = try #require(harness.info)
        #expect(try await harness.http(.GET, port: info.controlPort, "/v1/status").status == 401)
        #expect(try await harness.http(.GET, port: info.controlPort, "/v1/status", headers: [("Authorization", "Bearer wrong")]).status == 401)
        // The token with its last character changed (to one it is not): off by one character.
        let nearMiss = info.token.dropLast() + (info.token.last == "0" ? "1" : "0")
        #expect(try await harness.http(.DELETE, port: info.controlPort, "/v1/resources/function.echo", headers: [("Authorization", "Bearer " + nearMiss)]).status == 401)
        #expect(try await harness.http(.GET, port: info.controlPort, "/v1/status", headers: [("Authorization", "Bearer " + info.token)]).status == 200)
        // Still served: the refused delete did nothing.
        #expect(try await harness.invoke("echo", "{}").status == 200)
        let attributes = try FileManager.default.attributesOfItem(atPath: harness.directory + "/.kumo/runtime.json")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}
