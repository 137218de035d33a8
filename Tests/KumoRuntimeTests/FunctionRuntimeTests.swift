import Foundation
import KumoManifest
import KumoPlan
import KumoRuntime
import KumoState
import KumoTestSupport
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

    /// The pids of processes whose command line is `sleep MARKER`, wherever they run.
    static func sleepers(_ marker: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int.init).filter { pid in
            guard let line = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return line.split(separator: 0).map { String(decoding: $0, as: UTF8.self) } == ["sleep", marker] && !RuntimeHarness.isZombie(pid_t(pid))
        }
    }

    /// A grandchild that forks, calls setsid and forks again, keeping the worker's output
    /// pipes, is stopped with its worker: `kumo destroy` neither blocks nor leaves it running,
    /// and neither does `kumo runtime stop` (issue 15.2: destroy waited 90 s and failed, and
    /// the grandchild outlived `kumo down`).
    @Test func processesThatDetachFromAWorkerAreStoppedWithIt() async throws {
        let harness = try applied()
        let marker = "8\(Int.random(in: 10_000...99_999)).5"
        let first = try await harness.invoke("escape", "{\"marker\": \"\(marker)\"}")
        #expect(first.status == 200 && first.body.contains("\"ok\": true"), "\(first.status) \(first.body)")
        #expect(try await RuntimeHarness.waitUntil(timeout: 5) { !FunctionRuntimeTests.sleepers(marker).isEmpty }, "the detached grandchild runs")

        let started = Date()
        let destroy = try harness.kumo(["destroy", "--auto-approve"])
        let took = Date().timeIntervalSince(started)
        #expect(destroy.status == 0, "destroy: \(destroy.stdout) \(destroy.stderr)")
        #expect(took < 30, "destroy took \(took) s")
        let state = try #require(try SQLiteStateStore.open(path: harness.directory + "/.kumo/state.db", create: false)).snapshot()
        #expect(state.resources["function.escape"] == nil, "destroyed functions leave the state")
        #expect(try await RuntimeHarness.waitUntil(timeout: 5) { FunctionRuntimeTests.sleepers(marker).isEmpty },
                "the grandchild outlived kumo destroy: \(FunctionRuntimeTests.sleepers(marker))")

        let again = try harness.kumo(["apply", "--auto-approve"])
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        let second = try await harness.invoke("escape", "{\"marker\": \"\(marker)\"}")
        #expect(second.status == 200)
        #expect(try await RuntimeHarness.waitUntil(timeout: 5) { !FunctionRuntimeTests.sleepers(marker).isEmpty })
        let stop = try harness.kumo(["runtime", "stop"])
        #expect(stop.status == 0, "\(stop.stdout) \(stop.stderr)")
        #expect(try await RuntimeHarness.waitUntil(timeout: 5) { FunctionRuntimeTests.sleepers(marker).isEmpty },
                "the grandchild outlived kumo runtime stop: \(FunctionRuntimeTests.sleepers(marker))")
    }

    /// A handler cannot read the runtime's files (the control token in .kumo/runtime.json, the
    /// state) nor other workers' /proc entries and the secrets in their environments, and
    /// `kumo status` says how workers are isolated (issue 15.7).
    @Test func workersCannotSeeTheRuntimesFilesOrOtherWorkers() async throws {
        let harness = try applied()
        let echo = try await harness.invoke("echo", "{}")
        #expect(echo.status == 200)
        let echoPIDs = try #require(try await harness.detail("function.echo")?["pids"]?.arrayValue).compactMap(\.intValue)
        #expect(!echoPIDs.isEmpty)
        let request: [String: Any] = [
            "read": ["../.kumo/runtime.json", harness.directory + "/.kumo/runtime.json", harness.directory + "/.kumo/state.db", "app.py"],
            "environOf": echoPIDs + [Int(getpid())], "secret": "s3cret-value",
        ]
        let peek = try await harness.invoke("peek", String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self))
        #expect(peek.status == 200, "\(peek.body)")
        let seen = try #require(peek.json)
        for path in ["../.kumo/runtime.json", harness.directory + "/.kumo/runtime.json", harness.directory + "/.kumo/state.db"] {
            #expect(seen["readable"]?[path]?.intValue == nil, "a handler read \(path): \(seen["readable"]?[path] ?? .null)")
        }
        #expect((seen["readable"]?["app.py"]?.intValue ?? 0) > 0, "its own code stays readable: \(seen["readable"]?["app.py"] ?? .null)")
        for pid in echoPIDs {
            #expect(seen["secretSeen"]?[String(pid)] != .bool(true), "a handler read the secret in worker \(pid)'s environment")
        }
        let processes = seen["processes"]?.arrayValue?.compactMap(\.intValue) ?? []
        #expect(processes.count <= 3 && !processes.contains(where: { echoPIDs.contains($0) && $0 > 3 }),
                "a handler sees other processes in /proc: \(processes)")
        let isolation = try await harness.status().runtime.isolation
        #expect(isolation.hasPrefix("namespaces"), "kumo status: \(isolation)")
        let text = try harness.kumo(["status"])
        #expect(text.stdout.contains("isolation: namespaces"), "\(text.stdout)")
    }

    /// Output is tagged by when the handler printed it, not by when the pipe delivered it (issue
    /// 15.9): lines a handler prints before it returns carry the request id and come before the
    /// request's END line, however far the pipe reader lags behind the result (2,000 lines, three
    /// calls in a row: it used to tag hundreds of them with the worker, after END); a line it
    /// prints after returning (a thread or timer still running, with the worker idle) carries the
    /// worker's tag, not the request's. Through `kumo logs`, for python3 and node workers.
    @Test func outputIsTaggedWithTheRequestUntilItsEndAndWithTheWorkerAfter() async throws {
        let harness = try applied()
        for (function, chatter) in [("behave", 2000), ("nodeEcho", 1000)] {
            for _ in 0..<3 {
                let answer = try await harness.invoke(function, "{\"chatter\": \(chatter), \"printAfter\": 0.3}")
                #expect(answer.status == 200, "\(function): \(answer.body)")
            }
            var lines: [Substring] = []
            let complete = try await RuntimeHarness.waitUntil(timeout: 10) {
                lines = try harness.kumo(["logs", function]).stdout.split(separator: "\n")
                return lines.count { $0.contains("] after return ") } == 3 && lines.count { $0.contains("] END RequestId: ") } == 3
            }
            try #require(complete, "\(function): \(lines.suffix(20).joined(separator: "\n"))")
            var ended: Set<String> = []
            var chattered = 0, misplaced: [Substring] = [], afterReturn = 0
            for line in lines {
                // TIME [TAG] TEXT
                guard let open = line.firstIndex(of: "["), let close = line[open...].firstIndex(of: "]") else { continue }
                let tag = String(line[line.index(after: open)..<close])
                let words = line[line.index(close, offsetBy: 2)...].split(separator: " ").map(String.init)
                #expect(!line.contains("kumo-mark"), "a mark reached the log: \(line)")
                switch words.first {
                case "END" where words.count == 3: ended.insert(words[2])
                case "chatter":
                    chattered += 1
                    let request = words[2]
                    if tag != request || ended.contains(request) { misplaced.append(line) }
                case "after":
                    afterReturn += 1
                    #expect(tag.hasPrefix("worker-") && Int(tag.dropFirst(7)) != nil, "\(function): printed after returning, tagged [\(tag)]: \(line)")
                default: break
                }
            }
            #expect(ended.count == 3 && afterReturn == 3 && chattered == 3 * chatter, "\(function): \(ended.count) ENDs, \(chattered) lines, \(afterReturn) late")
            #expect(misplaced.isEmpty, "\(function): \(misplaced.count) lines printed before returning are not tagged with their request before its END, e.g. \(misplaced.prefix(3))")
        }
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
        try await harness.expectConnectionCap(port: port, request: "GET /nowhere HTTP/1.1\r\nHost: kumo\r\nConnection: close\r\n\r\n", status: "404",
                                              log: "runtime", listener: "gateway ")
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
        // An exec call answers as soon as its process ends, and its timeout and memory limit
        // hold: the watchdog beside the wait kills the process.
        let quick = try await harness.invoke("shellLimited", "{\"numbers\": [2]}")
        #expect(quick.status == 200 && quick.json?["sum"]?.intValue == 2, "\(quick.body)")
        let slow = try await harness.invoke("shellLimited", "{\"sleep\": 5}")
        #expect(slow.headers.first(name: "X-Amz-Function-Error") == "Unhandled")
        #expect(slow.json?["errorType"]?.stringValue == "Sandbox.Timedout", "\(slow.body)")
        let hungry = try await harness.invoke("shellHungry", "{\"allocateMB\": 300}")
        #expect(hungry.json?["errorType"]?.stringValue == "Runtime.OutOfMemory", "\(hungry.body)")
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

    @Test func timeoutsCrashesAndMemory() async throws {
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
        let hog = try await harness.invoke("hungry", "{\"allocateMB\": 300}")
        #expect(hog.json?["errorType"]?.stringValue == "Runtime.OutOfMemory", "\(hog.body)")

        // And the function still serves.
        let again = try await harness.invoke("behave", "{}")
        #expect(again.status == 200 && again.json?["ok"] == .bool(true), "\(again.status) \(again.body)")
        let detail = try #require(try await harness.detail("function.behave"))
        #expect((detail["errors"]?.intValue ?? 0) >= 2, "the timeout and the crash count as errors")
        #expect(try await harness.detail("function.hungry")?["errors"]?.intValue == 1, "and the memory kill")
    }

    /// `concurrency` is a hard cap: with both of `capped`'s two workers taken, a third call
    /// waits the function's timeout (4 s) for one, then gets 429 TooManyRequestsException; the
    /// two calls under the cap are answered by the handler. `capped`'s workers finish starting,
    /// and its calls answer, only when the test opens a gate (a file), so no worker can come
    /// free for the third call however slow the machine: the two workers are let start only
    /// after the third call is queued, and let answer only after it was throttled.
    @Test func theCallOverTheConcurrencyCapIsThrottled() async throws {
        let harness = try applied()
        let gates = harness.directory + "/gates"
        try FileManager.default.createDirectory(atPath: gates, withIntermediateDirectories: true)
        func open(_ gate: String) { FileManager.default.createFile(atPath: gates + "/" + gate, contents: Data()) }
        var seen: ConfigValue?
        /// Waits until `capped`'s pool has `queued` calls waiting and `starting`/`busy` workers.
        func pool(queued: Int, starting: Int = 0, busy: Int = 0) async throws -> Bool {
            try await RuntimeHarness.waitUntil(timeout: 1.8) {
                seen = try await harness.detail("function.capped")
                return seen?["queued"]?.intValue == queued && seen?["starting"]?.intValue == starting && seen?["busy"]?.intValue == busy
            }
        }

        let sent = Date()
        async let a = harness.invoke("capped", "{\"call\": \"a\"}")
        async let b = harness.invoke("capped", "{\"call\": \"b\"}")
        // Both calls wait for the two workers they started: the cap is taken.
        try #require(try await pool(queued: 2, starting: 2), "two calls waiting for two starting workers: \(String(describing: seen))")
        let thirdSent = Date()
        async let c = harness.invoke("capped", "{\"call\": \"c\"}")
        try #require(try await pool(queued: 3, starting: 2), "the third call waits and starts no third worker: \(String(describing: seen))")

        // The workers start halfway through the first calls' wait of 4 s and take them; the
        // third call still waits. (a and b would be throttled 4 s after `sent`; once taken,
        // they time out 4 s later, about 2 s after the third call is throttled: 2 s of margin
        // on either side, whatever the machine's speed.)
        try await Task.sleep(for: .seconds(max(0, 2 - Date().timeIntervalSince(sent))))
        open("start")
        try #require(try await pool(queued: 1, busy: 2), "both workers run a call, the third waits: \(String(describing: seen))")

        let throttled = try await c
        let waited = Date().timeIntervalSince(thirdSent)
        let during = try #require(try await harness.detail("function.capped"))
        open("call")
        let (first, second) = try await (a, b)

        #expect(throttled.status == 429, "\(throttled.status) \(throttled.body)")
        #expect(throttled.headers.first(name: "x-amzn-ErrorType") == "TooManyRequestsException", "\(throttled.headers)")
        #expect(throttled.json?["Reason"]?.stringValue == "ReservedFunctionConcurrentInvocationLimitExceeded", "\(throttled.body)")
        #expect(throttled.headers.first(name: "X-Amz-Function-Error") == nil)
        #expect(waited >= 4, "the call over the cap waits the function's timeout (4 s) for a worker; it was answered after \(waited) s")
        #expect(during["busy"]?.intValue == 2, "both workers were still taken when the third call was throttled: \(during)")
        for (name, answer) in [("a", first), ("b", second)] {
            #expect(answer.status == 200, "\(name): \(answer.status) \(answer.body)")
            #expect(answer.headers.first(name: "X-Amz-Function-Error") == nil, "\(name): \(answer.body)")
            #expect(answer.json?["gated"]?.stringValue == name, "\(name) gets the handler's answer: \(answer.body)")
        }
        let after = try #require(try await harness.detail("function.capped"))
        #expect(after["throttles"]?.intValue == 1 && after["errors"]?.intValue == 0, "\(after)")
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

        // Ten concurrent cold calls on a function at zero: each is held until a worker is
        // ready, and all ten are answered by the handler.
        let idle = try #require(try await harness.detail("function.held"))
        #expect(idle["warm"]?.intValue == 0 && idle["starting"]?.intValue == 0 && idle["busy"]?.intValue == 0, "\(idle)")
        let held = try await withThrowingTaskGroup(of: RuntimeHarness.HTTPResult.self) { group in
            for _ in 0..<10 { group.addTask { try await harness.invoke("held", "{\"sleep\": 0.05}") } }
            return try await group.reduce(into: [RuntimeHarness.HTTPResult]()) { $0.append($1) }
        }
        #expect(held.count == 10)
        for answer in held {
            #expect(answer.status == 200 && answer.headers.first(name: "X-Amz-Function-Error") == nil && answer.json?["ok"] == .bool(true),
                    "a held cold call: \(answer.status) \(answer.body)")
        }

        // Idle scale-down. warm: minInstances 1, idleTimeout 2 s. x takes the warm worker and
        // keeps it until the test opens the gate "x", so y needs a second worker; once that one
        // has been idle for 2 s it stops, and the pool is back at its one warm worker.
        let gates = harness.directory + "/gates"
        try FileManager.default.createDirectory(atPath: gates, withIntermediateDirectories: true)
        var seen: ConfigValue?
        /// Waits until `warm` has `live` workers (starting, busy or idle), `busy` of them busy.
        func workers(live: Int, busy: Int? = nil, timeout: Double) async throws -> Bool {
            try await RuntimeHarness.waitUntil(timeout: timeout) {
                seen = try await harness.detail("function.warm")
                let count = ["warm", "busy", "starting"].compactMap { seen?[$0]?.intValue }.reduce(0, +)
                return count == live && (busy == nil || seen?["busy"]?.intValue == busy)
            }
        }
        async let x = harness.invoke("warm", "{\"waitFor\": \"x\"}")
        try #require(try await workers(live: 1, busy: 1, timeout: 5), "x runs on the warm worker: \(String(describing: seen))")
        let ySent = Date()
        async let y = harness.invoke("warm", "{}")
        let rose = try await workers(live: 2, timeout: 10)
        let yAnswer = try await y
        #expect(rose, "a second worker starts while x holds the first: \(String(describing: seen))")
        #expect(yAnswer.status == 200 && yAnswer.json?["ok"] == .bool(true), "\(yAnswer.status) \(yAnswer.body)")
        let started = try await harness.detail("function.warm")?["cold_starts"]?.intValue
        #expect(started == 2, "y ran on a second worker: \(String(describing: started)) cold starts")
        FileManager.default.createFile(atPath: gates + "/x", contents: Data())
        let xAnswer = try await x
        #expect(xAnswer.status == 200 && xAnswer.json?["ok"] == .bool(true), "\(xAnswer.status) \(xAnswer.body)")
        let fell = try await workers(live: 1, busy: 0, timeout: 15)
        let fellAfter = Date().timeIntervalSince(ySent)
        #expect(fell, "scales back to minInstances after idleTimeout: \(String(describing: seen))")
        // The second worker was last active no earlier than y was sent.
        #expect(fellAfter >= 2, "the surplus worker stopped \(fellAfter) s after y was sent, before its idleTimeout of 2 s")
    }

    @Test func codeChangesReplaceWorkers() async throws {
        let harness = try applied()
        // The workers' pids as the runtime sees them (inside its namespace a worker is pid 2).
        func workerPID() async throws -> Int {
            #expect(try await harness.invoke("warm", "{}").status == 200)
            return try #require(try await harness.detail("function.warm")?["pids"]?.arrayValue?.first?.intValue)
        }
        let before = try await workerPID()
        try "\n# changed\n".write(toFile: harness.directory + "/py/extra.py", atomically: true, encoding: .utf8)
        let plan = try harness.kumo(["plan", "--no-color"])
        #expect(plan.stdout.contains("code contents changed"))
        let apply = try harness.kumo(["apply", "--auto-approve"])
        #expect(apply.status == 0, "\(apply.stderr)")
        let after = try await workerPID()
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
