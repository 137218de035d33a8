import Foundation
import KumoManifest
import KumoPlan
import KumoApply
import KumoRuntime
import KumoState
import KumoTestSupport
import NIOHTTP1
import Testing

/// Apply, re-apply, destroy, interrupted applies, killed runtimes, `up`, drift and calibration,
/// each with the state and the process table checked afterwards.
@Suite(.serialized) struct RuntimeLifecycleTests {
    func snapshot(_ harness: RuntimeHarness) throws -> StateSnapshot {
        try SQLiteStateStore.open(path: harness.directory + "/.kumo/state.db", create: false)?.snapshot() ?? .empty
    }

    func pids(_ harness: RuntimeHarness) async throws -> [Int] {
        try await harness.pids()
    }

    /// A runtime started by an unprivileged user serves and isolates its workers in user
    /// namespaces. (Its gateway used to drop every connection: it set SO_DEBUG, which only root
    /// may, where TCP_NODELAY was meant, and the suite ran only as root.)
    @Test func anUnprivilegedUsersRuntimeServesAndIsolatesItsWorkers() async throws {
        let harness = try RuntimeHarness(copying: "Tests/KumoRuntimeTests/Fixtures/runtime", environment: ["KUMO_TEST_TOKEN": "s3cret-value"])
        if geteuid() == 0 {
            harness.user = "nobody"
            let chown = Process()
            chown.executableURL = URL(fileURLWithPath: "/bin/chown")
            chown.arguments = ["-R", "nobody", harness.directory]
            try chown.run()
            chown.waitUntilExit()
            harness.environment["HOME"] = harness.directory
        }
        let info = try harness.startRuntime()
        let apply = try harness.kumo(["apply", "--auto-approve"])
        #expect(apply.status == 0, "\(apply.stdout) \(apply.stderr)")
        let daemonUser = try String(contentsOfFile: "/proc/\(info.pid)/status", encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
        #expect(!daemonUser.split(separator: "\t").dropFirst().contains("0"), "the daemon runs unprivileged: \(daemonUser)")
        let notFound = try await harness.gateway(.GET, "/no-such-route")
        #expect(notFound.status == 404)
        let request = "{\"read\": [\"../.kumo/runtime.json\", \"app.py\"], \"environOf\": [], \"secret\": \"s3cret-value\"}"
        let peek = try await harness.invoke("peek", request)
        #expect(peek.status == 200, "\(peek.body)")
        #expect(peek.json?["readable"]?["../.kumo/runtime.json"]?.intValue == nil, "\(peek.body)")
        #expect((peek.json?["readable"]?["app.py"]?.intValue ?? 0) > 0, "\(peek.body)")
        let isolation = try await harness.status().runtime.isolation
        #expect(isolation.hasPrefix("namespaces (user, pid, mount)"), "\(isolation)")
    }

    /// The daemon raises its soft limit on open descriptors towards the hard one, so that a
    /// listener's cap of 1,024 connections is reached before the descriptors run out (started
    /// from a shell with the common soft limit of 1,024, it had none left for anything else).
    @Test func theDaemonRaisesItsDescriptorLimit() throws {
        var original = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &original)
        try #require(original.rlim_max >= 4096, "needs a hard limit of at least 4096 to tell raised from not")
        var low = original
        low.rlim_cur = 512
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &low)
        let harness: RuntimeHarness
        let info: RuntimeInfo
        do {
            defer { setrlimit(Int32(RLIMIT_NOFILE.rawValue), &original) }
            harness = try RuntimeHarness(copying: "Tests/KumoRuntimeTests/Fixtures/runtime", environment: ["KUMO_TEST_TOKEN": "s3cret-value"])
            info = try harness.startRuntime()
        }
        let limits = try String(contentsOfFile: "/proc/\(info.pid)/limits", encoding: .utf8)
        let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
        let soft = try #require(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first.flatMap { Int($0) })
        #expect(soft >= min(Int(original.rlim_max), 65_536), "\(line)")
        withExtendedLifetime(harness) {}
    }

    /// `kumo status | head`: a reader that goes away ends kumo as SIGPIPE ends other tools, not
    /// with a crash report (the HTTP client ignores SIGPIPE, and the write used to trap).
    @Test func aClosedPipeEndsStatusQuietly() async throws {
        let harness = try RuntimeHarness(copying: "Tests/KumoRuntimeTests/Fixtures/runtime", environment: ["KUMO_TEST_TOKEN": "s3cret-value"])
        _ = try harness.startRuntime()
        #expect(try harness.kumo(["apply", "--auto-approve"]).status == 0)
        let out = Pipe(), err = Pipe()
        try out.fileHandleForReading.close()
        let process = try KumoTestSupport.start(["status"], environment: harness.environment, directory: harness.directory, stdout: out, stderr: err)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGPIPE, "\(process.terminationReason) \(process.terminationStatus)")
        #expect(stderr.isEmpty, "\(stderr.prefix(300))")
    }

    /// `-C` must name an existing directory: nothing is created, no daemon starts, one line
    /// and exit 1 (before, `runtime start -C /nonexistent` made `/nonexistent/.kumo` and ran a
    /// daemon on port 3000).
    @Test func aMissingProjectDirectoryIsRefused() throws {
        let missing = NSTemporaryDirectory() + "kumo-missing-" + UUID().uuidString
        for arguments in [["runtime", "start", "-C", missing], ["runtime", "status", "-C", missing], ["state", "list", "-C", missing], ["logs", "-C", missing]] {
            let result = try KumoTestSupport.run(arguments)
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr == "error: -C \(missing): no such directory\n", "\(arguments): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: missing), "\(arguments) created the directory")
        }
        // A gateway port in use: one line from the daemon's own error, exit 1, no usage text.
        let project = try Support.temporaryDirectory("kumo-busy")
        let (listener, busy) = RuntimeHarness.boundSocket(listen: true)
        defer { close(listener) }
        let refused = try KumoTestSupport.run(["runtime", "start", "-C", project, "--gateway-port", String(busy)])
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("error: the runtime exited at start: the gateway cannot listen on 127.0.0.1:\(busy)"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "one line: \(refused.stderr)")

        let file = try #require(Bundle.main.executablePath ?? CommandLine.arguments.first)
        let notDirectory = try KumoTestSupport.run(["runtime", "start", "-C", file])
        #expect(notDirectory.status == 1 && notDirectory.stderr.contains("not a directory"))
    }

    @Test func applyReapplyAndDestroyTheShop() async throws {
        let harness = try RuntimeHarness(copying: "examples/shop")
        _ = try harness.startRuntime()
        let apply = try harness.kumo(["apply", "--auto-approve", "--no-color"])
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
        #expect(apply.stdout.contains("Apply complete! Resources: 11 added"))
        var state = try snapshot(harness)
        #expect(state.resources.count == 11)
        #expect(state.resources.values.allSatisfy { $0.status == .applied })
        let journal = try SQLiteStateStore.open(path: harness.directory + "/.kumo/state.db", create: false)!.journal()
        #expect(journal.last?.outcome == "succeeded")
        let timings = try SQLiteStateStore.open(path: harness.directory + "/.kumo/state.db", create: false)!.timings()
        #expect(timings.count == 11)
        // Services really run: both api replicas answer their health check.
        let running = try await pids(harness)
        #expect(running.count >= 3)
        #expect(RuntimeHarness.alive(running).count == running.count)

        // Re-apply: nothing to do, state unchanged.
        let again = try harness.kumo(["apply", "--auto-approve", "--no-color"])
        #expect(again.status == 0 && again.stdout.contains("No changes."))
        let plan = try harness.kumo(["plan", "--detailed-exitcode"])
        #expect(plan.status == 0)
        let serial = try snapshot(harness).serial

        // An edit is applied in place: only that resource changes.
        let file = harness.directory + "/functions.yaml"
        if let text = try? String(contentsOfFile: file, encoding: .utf8) {
            try text.replacingOccurrences(of: "memory: 512", with: "memory: 1024").write(toFile: file, atomically: true, encoding: .utf8)
        }
        let edited = try harness.kumo(["apply", "--auto-approve", "--no-color"])
        #expect(edited.status == 0)
        #expect(edited.stdout.contains("1 changed"), "\(edited.stdout)")
        state = try snapshot(harness)
        #expect(state.serial > serial)
        #expect(state.resources["function.createOrder"]?.spec["memory"]?.intValue == 1024)

        // Destroy: state empty, every process gone.
        let destroy = try harness.kumo(["destroy", "--auto-approve", "--no-color"])
        #expect(destroy.status == 0, "\(destroy.stderr)")
        #expect(destroy.stdout.contains("11 destroyed"))
        #expect(try snapshot(harness).resources.isEmpty)
        #expect(try await RuntimeHarness.waitUntil(timeout: 15) { RuntimeHarness.alive(running).isEmpty }, "processes left: \(RuntimeHarness.alive(running))")
        let stop = try harness.kumo(["runtime", "stop"])
        #expect(stop.status == 0)
        #expect(harness.info == nil)
    }

    @Test func applyWithoutConfirmationOrRuntimeIsRefused() throws {
        let harness = try RuntimeHarness(copying: "examples/hello")
        let noRuntime = try harness.kumo(["apply", "--auto-approve"])
        #expect(noRuntime.status == 1 && noRuntime.stderr.contains("no Kumo runtime is running"))
        _ = try harness.startRuntime()
        let noTerminal = try harness.kumo(["apply"])
        #expect(noTerminal.status == 1 && noTerminal.stderr.contains("--auto-approve"))
        #expect(try snapshot(harness).resources.isEmpty)
        // From elsewhere, the project named by its directory (not taken for a saved plan).
        let elsewhere = try KumoTestSupport.run(["apply", harness.directory, "--auto-approve"], environment: harness.environment, directory: "/")
        #expect(elsewhere.status == 0, "\(elsewhere.stderr)")
        #expect(try snapshot(harness).resources.count == 1)
    }

    /// Many functions with a warm worker each, applied one at a time, killed midway: the state
    /// holds exactly the finished ones and the next plan creates exactly the rest.
    @Test func anApplyKilledMidwayLeavesExactlyTheRemainderToPlan() async throws {
        let harness = try RuntimeHarness(copying: "examples/hello")
        var manifest = "version: 1\nproject: many\nfunctions:\n"
        for i in 0..<24 {
            manifest += "  f\(i): { runtime: python3, handler: app.handler, code: functions/hello, minInstances: 1 }\n"
        }
        try FileManager.default.removeItem(atPath: harness.directory + "/kumo.yaml")
        try manifest.write(toFile: harness.directory + "/kumo.yaml", atomically: true, encoding: .utf8)
        _ = try harness.startRuntime()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RuntimeHarness.binary)
        process.arguments = ["apply", "--auto-approve", "--parallelism", "1"]
        process.currentDirectoryURL = URL(fileURLWithPath: harness.directory)
        process.environment = harness.environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until some, not all, are recorded; then kill -9.
        let some = try await RuntimeHarness.waitUntil(timeout: 60) { (try? self.snapshot(harness).resources.count) ?? 0 >= 4 }
        #expect(some)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let state = try snapshot(harness)
        #expect(state.resources.count < 24, "killed before the end")
        let store = try SQLiteStateStore.open(path: harness.directory + "/.kumo/state.db", create: false)!
        // The killed apply left its lock: stale, named, and removable.
        let holder = try #require(try store.currentLock())
        let blocked = try harness.kumo(["plan", "--out", "p.plan"])
        #expect(blocked.status == 0, "planning needs no lock")
        let refused = try harness.kumo(["apply", "--auto-approve"])
        #expect(refused.status == 1 && refused.stderr.contains("stale") && refused.stderr.contains(holder.id))
        #expect(try harness.kumo(["state", "unlock", holder.id]).status == 0)

        let plan = try harness.kumo(["plan", "--json"])
        let remaining = try Plan(jsonValue: try ConfigValue(json: plan.stdout))
        let created = Set(remaining.changes.filter { $0.action == .create }.map(\.address))
        let expected = Set((0..<24).map { "function.f\($0)" }).subtracting(state.resources.keys)
        #expect(created == expected)
        #expect(remaining.count(.update) + remaining.count(.replace) + remaining.count(.delete) == 0)
        // And the rest applies.
        let rest = try harness.kumo(["apply", "--auto-approve"])
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(try snapshot(harness).resources.count == 24)
    }

    /// kill -9 of the runtime leaves its workers and replicas running in their own groups;
    /// the next runtime stops them (pid table) and brings the applied state back.
    @Test func aRuntimeKilledAndRestartedLeavesNoOrphans() async throws {
        let harness = try RuntimeHarness(copying: "Tests/KumoRuntimeTests/Fixtures/runtime", environment: ["KUMO_TEST_TOKEN": "s3cret-value"])
        let first = try harness.startRuntime()
        #expect(try harness.kumo(["apply", "--auto-approve"]).status == 0)
        _ = try await harness.invoke("echo", "{}")
        let before = try await pids(harness)
        let keeper = try await harness.detail("service.keeper")?["pids"]?.arrayValue?.compactMap(\.intValue) ?? []
        #expect(!before.isEmpty && keeper.count == 1)
        kill(first.pid, SIGKILL)
        #expect(try await RuntimeHarness.waitUntil { kill(first.pid, 0) != 0 || RuntimeHarness.isZombie(first.pid) })
        // The service's replica outlives the runtime for now (its own process group; idle
        // workers notice the Runtime API is gone and exit by themselves)...
        #expect(RuntimeHarness.alive(keeper) == keeper, "the replica still runs")
        // ...until the next runtime starts and stops it.
        _ = try harness.startRuntime()
        #expect(try await RuntimeHarness.waitUntil(timeout: 10) { RuntimeHarness.alive(before).isEmpty }, "orphans: \(RuntimeHarness.alive(before))")
        let log = try String(contentsOfFile: harness.directory + "/.kumo/logs/runtime.log", encoding: .utf8)
        #expect(log.contains("stopped orphan process group"))
        // It reconciled to the applied state: warm again and serving.
        #expect(try await harness.detail("function.warm")?["warm"]?.intValue == 1)
        let answer = try await harness.invoke("echo", "{\"again\": true}")
        #expect(answer.json?["event"]?["again"] == .bool(true))
        #expect(answer.json?["tokenSet"] == .bool(true), "secrets come from the runtime's environment after a restart")
    }

    @Test func refreshShowsDriftAndApplyRepairsIt() async throws {
        let harness = try RuntimeHarness(copying: "examples/hello")
        let info = try harness.startRuntime()
        #expect(try harness.kumo(["apply", "--auto-approve"]).status == 0)
        let clean = try harness.kumo(["plan", "--refresh", "--detailed-exitcode"])
        #expect(clean.status == 0 && clean.stdout.contains("the runtime matches the state"))
        // Someone removes the function behind Kumo's back (through the control API).
        try await RuntimeClient(info: info).remove(address: "function.hello")
        let drift = try harness.kumo(["plan", "--refresh", "--detailed-exitcode", "--no-color"])
        #expect(drift.status == 2)
        #expect(drift.stdout.contains("! function.hello: missing from the runtime"))
        #expect(drift.stdout.contains("drift: missing from the runtime"))
        #expect(try harness.kumo(["plan", "--detailed-exitcode"]).status == 0, "without --refresh the state alone says no change")
        #expect(try await harness.gateway(.GET, "/hello").status == 404)
        let repair = try harness.kumo(["apply", "--auto-approve", "--refresh"])
        #expect(repair.status == 0, "\(repair.stderr)")
        #expect(try await harness.gateway(.GET, "/hello?name=x").status == 200)
    }

    @Test func calibrateFitsTheRecordedWavesAndPlansUseIt() throws {
        let harness = try RuntimeHarness(copying: "examples/hello")
        var manifest = "version: 1\nproject: sizes\nfunctions:\n"
        for i in 0..<6 { manifest += "  f\(i): { runtime: python3, handler: app.handler, code: functions/hello, minInstances: 1 }\n" }
        try FileManager.default.removeItem(atPath: harness.directory + "/kumo.yaml")
        try manifest.write(toFile: harness.directory + "/kumo.yaml", atomically: true, encoding: .utf8)
        _ = try harness.startRuntime()
        let none = try harness.kumo(["calibrate"])
        #expect(none.status == 1, "no state yet")
        // Waves of different sizes at parallelism 1 and 2, starting workers and stopping them.
        let steps: [[String]] = [
            ["apply", "--parallelism", "1", "--target", "function.f0"],
            ["apply", "--parallelism", "1", "--target", "function.f1", "--target", "function.f2"],
            ["apply", "--parallelism", "2"],
            ["destroy", "--parallelism", "2"],
            ["apply", "--parallelism", "2", "--target", "function.f0", "--target", "function.f1"],
            ["apply", "--parallelism", "1"],
            ["destroy", "--parallelism", "1"],
        ]
        for step in steps {
            let run = try harness.kumo(step + ["--auto-approve", "--no-color"])
            #expect(run.status == 0, "\(step): \(run.stderr)")
            #expect(run.stdout.contains("; the plan estimated "), "\(run.stdout)")
        }
        // Each apply recorded its estimate and how long it took.
        let history = try harness.kumo(["calibrate", "--report", "--json"])
        #expect(history.status == 0, "\(history.stderr)")
        let applies = try #require(try ConfigValue(json: history.stdout)["applies"]?.arrayValue)
        #expect(applies.count == steps.count)
        #expect(applies.allSatisfy { ($0["estimate_seconds"]?.doubleValue ?? 0) > 0 && ($0["actual_seconds"]?.doubleValue ?? 0) > 0 }, "\(history.stdout)")
        #expect(applies.map { $0["operation"]?.stringValue } == ["destroy", "apply", "apply", "destroy", "apply", "apply", "apply"])

        let fit = try harness.kumo(["calibrate", "--json"])
        #expect(fit.status == 0, "\(fit.stderr)")
        let functions = try #require(try ConfigValue(json: fit.stdout)["functions"])
        #expect(functions["samples"]?.intValue == steps.count)
        #expect((functions["each_ms"]?.doubleValue ?? 0) > 0 && (functions["parallelism"]?.doubleValue ?? 0) >= 1, "\(fit.stdout)")
        #expect(functions["error"]?.doubleValue != nil)
        let plan = try Plan(jsonValue: try ConfigValue(json: try harness.kumo(["plan", "--json"]).stdout))
        #expect(plan.estimate?.coefficients.functions.source == .calibrated)
        #expect(plan.estimate?.error != nil)
        #expect(try harness.kumo(["plan", "--no-color"]).stdout.contains(" ± "))
        // --uncalibrated plans with the manifest's or built-in coefficients again.
        let plain = try Plan(jsonValue: try ConfigValue(json: try harness.kumo(["plan", "--json", "--uncalibrated"]).stdout))
        #expect(plain.estimate?.coefficients.functions.source == .builtIn && plain.estimate?.error == nil)
    }

    @Test func upRunsInTheForegroundAndCtrlCStopsEverything() async throws {
        let harness = try RuntimeHarness(copying: "examples/hello")
        let output = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RuntimeHarness.binary)
        process.arguments = ["up", "--gateway-port", "0", "--no-color"]
        process.currentDirectoryURL = URL(fileURLWithPath: harness.directory)
        process.environment = harness.environment
        process.standardOutput = output
        process.standardError = output
        let collected = OutputBuffer()
        output.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        try process.run()
        #expect(try await RuntimeHarness.waitUntil(timeout: 30) { collected.text.contains("Kumo is up") }, "\(collected.text)")
        let response = try await harness.gateway(.GET, "/hello?name=up")
        #expect(response.status == 200)
        #expect(try await RuntimeHarness.waitUntil { collected.text.contains("function.hello | ") }, "logs are streamed")
        let workers = try await pids(harness)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
        #expect(process.terminationStatus == 0)
        #expect(collected.text.contains("Stopped every process"))
        #expect(RuntimeHarness.alive(workers).isEmpty)
        #expect(harness.info == nil, "runtime.json removed")
    }
}

final class OutputBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) {
        lock.lock()
        data.append(more)
        lock.unlock()
    }
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
