import Foundation
import KumoManifest
import KumoRuntime
import KumoTestSupport
import NIOHTTP1
import Testing

/// The README's promises about function workers, results, errors, routes and the log and
/// status commands, each through the real `kumo`, a real runtime and real workers
/// (`Fixtures/function-promises`: one function per promise).
@Suite(.serialized) struct FunctionPromiseTests {
    static let token = ["KUMO_PROMISE_TOKEN": "first-value"]

    func applied() throws -> RuntimeHarness {
        let harness = try RuntimeHarness(copying: "Tests/KumoRuntimeTests/Fixtures/function-promises", environment: FunctionPromiseTests.token)
        _ = try harness.startRuntime()
        let apply = try harness.kumo(["apply", "--auto-approve", "--no-color"])
        guard apply.status == 0 else { throw HarnessError("apply failed: \(apply.stdout)\n\(apply.stderr)") }
        return harness
    }

    /// The host pids of a function's workers, as the runtime reports them.
    func workers(_ harness: RuntimeHarness, _ function: String) async throws -> [Int] {
        try await harness.detail("function.\(function)")?["pids"]?.arrayValue?.compactMap(\.intValue) ?? []
    }

    /// "A new revision replaces … busy ones when their call ends": the busy worker finishes
    /// its call with the code it started with, then goes; calls meanwhile and after run the new
    /// code in a new worker.
    @Test func aBusyWorkerFinishesItsCallThenGivesWayToANewRevision() async throws {
        let harness = try applied()
        #expect(try await harness.invoke("revision", "{}").json?["version"]?.stringValue == "v1")
        let old = try await workers(harness, "revision")
        try #require(old.count == 1, "one worker after one call: \(old)")

        // A call the test holds until it creates ../release (from the worker's code directory).
        async let held = harness.invoke("revision", "{\"holdUntil\": \"../release\"}")
        let busy = try await RuntimeHarness.waitUntil { try await harness.detail("function.revision")?["busy"]?.intValue == 1 }
        try #require(busy, "the held call never reached the worker")

        try "v2\n".write(toFile: harness.directory + "/rev/version.txt", atomically: true, encoding: .utf8)
        let apply = try harness.kumo(["apply", "--auto-approve", "--no-color"])
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
        #expect(apply.stdout.contains("1 changed"), "\(apply.stdout)")
        #expect(RuntimeHarness.alive(old) == old, "the busy worker was stopped during its call")
        let meanwhile = try await harness.invoke("revision", "{}")
        #expect(meanwhile.json?["version"]?.stringValue == "v2", "a call during the held one: \(meanwhile.body)")

        FileManager.default.createFile(atPath: harness.directory + "/release", contents: nil)
        let finished = try await held
        #expect(finished.status == 200 && finished.headers.first(name: "X-Amz-Function-Error") == nil, "\(finished.status) \(finished.body)")
        #expect(finished.json?["version"]?.stringValue == "v1", "the old worker finished its call with its own code: \(finished.body)")
        #expect(try await RuntimeHarness.waitUntil { RuntimeHarness.alive(old).isEmpty }, "the old worker outlived its call: \(old)")
        let next = try await harness.invoke("revision", "{}")
        #expect(next.json?["version"]?.stringValue == "v2", "\(next.body)")
        let now = try await workers(harness, "revision")
        #expect(!now.isEmpty && Set(now).isDisjoint(with: old), "old \(old), now \(now)")
    }

    /// "A new revision (… secret values) replaces idle workers at once": applied with another
    /// value of the secret in apply's environment, the warm worker is replaced, and the handler
    /// sees the new value.
    @Test func aNewSecretValueReplacesTheWorkers() async throws {
        let harness = try applied()
        let first = try await harness.invoke("secretive", "{}")
        #expect(first.json?["token"]?.stringValue == "first-value", "\(first.body)")
        let before = try await workers(harness, "secretive")
        try #require(before.count == 1, "minInstances 1: \(before)")

        let second = ["KUMO_PROMISE_TOKEN": "second-value"]
        let plan = try harness.kumo(["plan", "--detailed-exitcode", "--no-color"], extra: second)
        #expect(plan.status == 2 && plan.stdout.contains("function.secretive"), "a new secret value is a change: \(plan.stdout)")
        let apply = try harness.kumo(["apply", "--auto-approve", "--no-color"], extra: second)
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
        #expect(try await RuntimeHarness.waitUntil { RuntimeHarness.alive(before).isEmpty }, "the worker with the old value still runs: \(before)")
        let answer = try await harness.invoke("secretive", "{}")
        #expect(answer.json?["token"]?.stringValue == "second-value", "\(answer.body)")
        let after = try await workers(harness, "secretive")
        #expect(after.count == 1 && Set(after).isDisjoint(with: before), "before \(before), after \(after)")
    }

    /// "An init error fails the call that started the worker": a handler module that raises
    /// at import fails the cold call at once with the error's own type, not a wait and a 429.
    @Test func anInitErrorFailsTheCallThatStartedTheWorker() async throws {
        let harness = try applied()
        for call in 1...2 {
            let answer = try await harness.invoke("broken", "{}")
            #expect(answer.status == 200, "call \(call): \(answer.status) \(answer.body)")
            #expect(answer.headers.first(name: "X-Amz-Function-Error") == "Unhandled", "call \(call)")
            #expect(answer.json?["errorType"]?.stringValue == "LookupError", "call \(call): \(answer.body)")
            #expect(answer.json?["errorMessage"]?.stringValue == "no settings at import time", "call \(call): \(answer.body)")
        }
        let detail = try #require(try await harness.detail("function.broken"))
        #expect(detail["throttles"]?.intValue == 0 && detail["errors"]?.intValue == 2, "\(detail)")
        #expect(detail["last_error"]?.stringValue == "LookupError: no settings at import time", "\(detail)")
    }

    /// Results are limited to Lambda's 6 MB: one byte over is `Function.ResponseSizeTooLarge`,
    /// one just under arrives whole, and the function keeps serving.
    @Test func aResultOverSixMegabytesIsResponseSizeTooLarge() async throws {
        let harness = try applied()
        let limit = 6 * 1024 * 1024
        // The result is a JSON string: its size plus two quotes.
        let under = try await harness.invoke("large", "{\"size\": \(limit - 2)}")
        #expect(under.status == 200 && under.headers.first(name: "X-Amz-Function-Error") == nil, "\(under.status) \(under.body.prefix(300))")
        #expect(under.body.utf8.count == limit, "a result of exactly 6 MB arrives whole: \(under.body.utf8.count) bytes")
        let over = try await harness.invoke("large", "{\"size\": \(limit - 1)}")
        #expect(over.headers.first(name: "X-Amz-Function-Error") == "Unhandled", "\(over.status) \(over.body.prefix(300))")
        #expect(over.json?["errorType"]?.stringValue == "Function.ResponseSizeTooLarge", "\(over.body.prefix(300))")
        #expect(over.json?["errorMessage"]?.stringValue?.contains("\(limit) bytes") == true, "\(over.body.prefix(300))")
        let small = try await harness.invoke("large", "{\"size\": 3}")
        #expect(small.body == "\"xxx\"", "\(small.body.prefix(300))")
    }

    /// "A function error is a 500" through an http trigger (while the Invoke API answers 200
    /// with `X-Amz-Function-Error`).
    @Test func aFunctionErrorThroughAnHTTPTriggerIs500() async throws {
        let harness = try applied()
        let answer = try await harness.gateway(.GET, "/fail")
        #expect(answer.status == 500, "\(answer.status) \(answer.body)")
        #expect(answer.json?["message"]?.stringValue == "Internal Server Error", "\(answer.body)")
        #expect(!answer.body.contains("failing on purpose"), "the handler's error stays in the log: \(answer.body)")
        let invoked = try await harness.invoke("failing", "{}")
        #expect(invoked.status == 200 && invoked.json?["errorType"]?.stringValue == "ValueError", "\(invoked.body)")
    }

    /// "Most specific first": a literal segment beats `{param}`, which beats a greedy
    /// `{proxy+}`, whatever order the manifest declares them in.
    @Test func theMostSpecificRouteWins() async throws {
        let harness = try applied()
        let cases: [(path: String, function: String, routeKey: String, parameters: [String: String])] = [
            ("/items/special", "cSpecial", "GET /items/special", [:]),
            ("/items/42", "bItem", "GET /items/{id}", ["id": "42"]),
            ("/items/42/more", "aProxy", "GET /{proxy+}", ["proxy": "items/42/more"]),
            ("/items", "aProxy", "GET /{proxy+}", ["proxy": "items"]),
            ("/elsewhere", "aProxy", "GET /{proxy+}", ["proxy": "elsewhere"]),
        ]
        for expected in cases {
            let answer = try await harness.gateway(.GET, expected.path)
            #expect(answer.status == 200, "\(expected.path): \(answer.status) \(answer.body)")
            #expect(answer.json?["function"]?.stringValue == expected.function, "\(expected.path): \(answer.body)")
            #expect(answer.json?["routeKey"]?.stringValue == expected.routeKey, "\(expected.path): \(answer.body)")
            let parameters = answer.json?["pathParameters"]?.objectValue?.reduce(into: [String: String]()) { $0[$1.0] = $1.1.stringValue } ?? [:]
            #expect(parameters == expected.parameters, "\(expected.path): \(answer.body)")
        }
    }

    /// `kumo logs -f` keeps printing: a line a handler logs after it started appears in its
    /// output, and it is still following until it is stopped.
    @Test func kumoLogsFollowPrintsLinesLoggedAfterItStarted() async throws {
        let harness = try applied()
        #expect(try await harness.invoke("say", "{\"say\": \"before-following\"}").status == 200)
        let out = Pipe(), err = Pipe()
        let collected = OutputBuffer()
        out.fileHandleForReading.readabilityHandler = { collected.append($0.availableData) }
        let follower = try KumoTestSupport.start(["logs", "-f", "say"], environment: harness.environment, directory: harness.directory, stdout: out, stderr: err)
        defer {
            if follower.isRunning { kill(follower.processIdentifier, SIGKILL) }
            follower.waitUntilExit()
            out.fileHandleForReading.readabilityHandler = nil
        }
        #expect(try await RuntimeHarness.waitUntil { collected.text.contains("before-following") }, "what was logged before: \(collected.text)")
        let marker = "after-following-\(UUID().uuidString.prefix(8))"
        let said = try await harness.invoke("say", "{\"say\": \"\(marker)\"}")
        #expect(said.status == 200)
        let followed = try await RuntimeHarness.waitUntil(timeout: 10) { collected.text.contains("] \(marker)") }
        #expect(followed, "kumo logs -f did not print a line logged after it started (running: \(follower.isRunning)): \(collected.text)")
        #expect(follower.isRunning, "kumo logs -f ended by itself")
        kill(follower.processIdentifier, SIGTERM)
        follower.waitUntilExit()
    }

    /// `kumo runtime status` says whether the runtime runs, where, and what it serves.
    @Test func kumoRuntimeStatusSaysWhereTheRuntimeRuns() async throws {
        let harness = try applied()
        let info = try #require(harness.info)
        let resources = try await harness.status().resources.count
        #expect(resources == 9)
        let text = try harness.kumo(["runtime", "status"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.hasPrefix("Runtime pid \(info.pid), started "), "\(text.stdout)")
        #expect(text.stdout.contains("gateway      http://127.0.0.1:\(info.gatewayPort)\n"), "\(text.stdout)")
        #expect(text.stdout.contains("control API  127.0.0.1:\(info.controlPort)\n"), "\(text.stdout)")
        #expect(text.stdout.contains("resources    \(resources)\n"), "\(text.stdout)")
        let json = try harness.kumo(["runtime", "status", "--json"])
        let status = try ConfigValue(json: json.stdout)
        #expect(status["runtime"]?["pid"]?.intValue == Int(info.pid), "\(json.stdout.prefix(500))")
        #expect(status["runtime"]?["gateway_port"]?.intValue == info.gatewayPort)
        #expect(status["resources"]?.arrayValue?.count == resources)

        #expect(try harness.kumo(["runtime", "stop"]).status == 0)
        let stopped = try harness.kumo(["runtime", "status"])
        #expect(stopped.status == 3 && stopped.stdout.hasPrefix("no Kumo runtime is running for "), "\(stopped.status) \(stopped.stdout)")
        let stoppedJSON = try harness.kumo(["runtime", "status", "--json"])
        #expect(stoppedJSON.status == 3 && stoppedJSON.stdout == "{\"running\": false}\n", "\(stoppedJSON.stdout)")
    }
}
