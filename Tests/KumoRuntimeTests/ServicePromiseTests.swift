import AsyncHTTPClient
import Foundation
import KumoManifest
import KumoRuntime
import KumoTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// The README's promises about replicas, restarts, health checks, limits, the front port and
/// what the runtime's processes hold, each through the real `kumo`, a real runtime and real
/// replicas (`Fixtures/service-promises`; each test applies only what it needs).
@Suite(.serialized) struct ServicePromiseTests {
    /// A fresh runtime with `targets` applied, the front port moved to a free one.
    func applied(_ targets: [String]) throws -> (RuntimeHarness, Int) {
        let harness = try RuntimeHarness(copying: "Tests/KumoRuntimeTests/Fixtures/service-promises")
        let (fd, port) = RuntimeHarness.boundSocket()
        close(fd)
        _ = try harness.startRuntime()
        let apply = try harness.kumo(["apply", "--auto-approve", "--no-color", "--var", "frontPort=\(port)"] + targets.flatMap { ["--target", $0] })
        guard apply.status == 0 else { throw HarnessError("apply failed: \(apply.stdout)\n\(apply.stderr)") }
        return (harness, port)
    }

    func log(_ harness: RuntimeHarness, _ service: String) -> String {
        (try? String(contentsOfFile: harness.directory + "/.kumo/logs/service.\(service).log", encoding: .utf8)) ?? ""
    }

    /// Whether the service's log holds `text` within 5 s (lines are written in batches).
    func logged(_ harness: RuntimeHarness, _ service: String, _ text: String) async throws -> Bool {
        try await RuntimeHarness.waitUntil(timeout: 5) { self.log(harness, service).contains(text) }
    }

    /// The service's row of `kumo status --json`, as a user reads it.
    func statusRow(_ harness: RuntimeHarness, _ service: String) throws -> ConfigValue? {
        let status = try harness.kumo(["status", "--json"])
        return try ConfigValue(json: status.stdout)["resources"]?.arrayValue?.first { $0["address"]?.stringValue == "service.\(service)" }
    }

    func ints(_ value: ConfigValue?) -> [Int] { value?.arrayValue?.compactMap(\.intValue) ?? [] }

    /// "Everything listens on 127.0.0.1", and processes "inherit no descriptor beyond
    /// stdin/stdout/stderr": every listening socket of the daemon (gateway, control API, front
    /// port, a worker's Runtime API) is bound to 127.0.0.1, and a replica and an exec call
    /// start holding descriptors 0–2 only.
    @Test func theDaemonListensOnLoopbackOnlyAndItsChildrenHoldOnlyDescriptors0To2() async throws {
        let (harness, port) = try applied(["service.front", "function.warm", "function.descriptors"])
        let info = try #require(harness.info)
        let listeners = try ServicePromiseTests.listeningSockets(of: info.pid)
        let ports = Set(listeners.map(\.port))
        #expect(ports.isSuperset(of: [info.gatewayPort, info.controlPort, port]), "listening: \(listeners)")
        #expect(listeners.count >= 4, "the warm worker's Runtime API listens too: \(listeners)")
        let elsewhere = listeners.filter { $0.address != "127.0.0.1" }
        #expect(elsewhere.isEmpty, "listening beyond 127.0.0.1: \(elsewhere)")

        let called = try await harness.invoke("descriptors", "{}")
        #expect(called.status == 200, "\(called.body)")
        #expect(ints(called.json?["descriptors"]) == [0, 1, 2], "an exec call started with: \(called.body)")
        let said = try await RuntimeHarness.waitUntil { self.log(harness, "front").contains("descriptors at start: ") }
        #expect(said, "\(log(harness, "front"))")
        let lines = log(harness, "front").split(separator: "\n").filter { $0.contains("descriptors at start: ") }
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasSuffix("descriptors at start: [0, 1, 2]") }, "a replica started with: \(lines)")
    }

    /// The LISTEN sockets among `pid`'s descriptors, from /proc/PID/fd and /proc/net/tcp{,6}.
    static func listeningSockets(of pid: pid_t) throws -> [(address: String, port: Int)] {
        var inodes = Set<Substring>()
        for fd in try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"), target.hasPrefix("socket:[") else { continue }
            inodes.insert(Substring(target.dropFirst(8).dropLast()))
        }
        var found: [(String, Int)] = []
        for table in ["tcp", "tcp6"] {
            // Read to the end: String(contentsOfFile:) stops after the first page of a /proc file.
            guard let file = FileHandle(forReadingAtPath: "/proc/\(pid)/net/\(table)") else { throw HarnessError("no /proc/\(pid)/net/\(table)") }
            defer { try? file.close() }
            let text = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9, fields[3] == "0A", inodes.contains(fields[9]) else { continue }
                let local = fields[1].split(separator: ":")
                let port = Int(local[1], radix: 16) ?? -1
                // The address as the kernel stores it: 32-bit words in host (little-endian) order.
                let hex = String(local[0])
                if hex == "0100007F" { found.append(("127.0.0.1", port)) }
                else if hex == "0000000000000000FFFF00000100007F" { found.append(("127.0.0.1", port)) }
                else { found.append(("\(table) \(hex)", port)) }
            }
        }
        return found
    }

    /// "Holds a request up to 5 s while no replica is ready (then 503)": with the only replica
    /// failing its health check, a request is answered 503 after 5 s, not before; a request held
    /// while the replica gets healthy again is answered by it.
    @Test func theFrontPortHoldsARequestFiveSecondsThenAnswers503() async throws {
        let (harness, port) = try applied(["service.front"])
        #expect(try await harness.http(.GET, port: port, "/").status == 200)
        FileManager.default.createFile(atPath: harness.directory + "/sick", contents: nil)
        let down = try await RuntimeHarness.waitUntil(timeout: 15) { try await harness.detail("service.front")?["replicas_ready"]?.intValue == 0 }
        try #require(down, "the replica never left the balancer: \(log(harness, "front"))")

        let started = Date()
        let refused = try await harness.http(.GET, port: port, "/")
        let waited = Date().timeIntervalSince(started)
        #expect(refused.status == 503, "\(refused.status) \(refused.body)")
        #expect(refused.body.contains("no ready replica of service front"), "\(refused.body)")
        #expect(waited >= 4.9, "answered after \(waited) s: not held for 5 s")

        async let held = harness.http(.GET, port: port, "/")
        try await Task.sleep(for: .milliseconds(300))  // the request is on its way before the replica can recover
        try FileManager.default.removeItem(atPath: harness.directory + "/sick")
        let answered = try await held
        let took = Date().timeIntervalSince(started) - waited
        #expect(answered.status == 200, "a held request, answered after \(took) s: \(answered.status) \(answered.body)")
    }

    /// "Reads each request body whole (up to 64 MB, then 413)": exactly 64 MB reaches the
    /// replica, one byte more is refused, and the port keeps serving.
    @Test func theFrontPortTakes64MBAndRefusesOneByteMore() async throws {
        let (harness, port) = try applied(["service.front"])
        let limit = 64 * 1024 * 1024
        /// The status and body of a POST of `size` bytes, or the error that ended it.
        func post(_ size: Int) async -> (status: Int, body: String) {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/length")
            request.method = .POST
            request.body = .bytes(ByteBuffer(repeating: UInt8(ascii: "k"), count: size))
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
                return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
            } catch {
                return (0, "no answer: \(error)")
            }
        }
        let whole = await post(limit)
        #expect(whole.status == 200 && (try? ConfigValue(json: whole.body))?["length"]?.intValue == limit, "\(whole)")
        let over = await post(limit + 1)
        #expect(over.status == 413, "\(over)")
        #expect(try await harness.http(.GET, port: port, "/").status == 200, "still serving")
    }

    /// `restart: no`: a replica that exits stays down, and status says why (its exit status
    /// and what it last wrote to stderr).
    @Test func restartNoLeavesAnExitedReplicaDown() async throws {
        let (harness, _) = try applied(["service.once"])
        let exited = try await RuntimeHarness.waitUntil(timeout: 15) { self.log(harness, "once").contains("replica 1 exited: exit status 3") }
        try #require(exited, "\(log(harness, "once"))")
        // From the log: the replica may have exited before the apply returned, on a busy machine.
        let pids = log(harness, "once").matches(of: #/replica 1 started on port \d+ \(pid (\d+)\)/#).compactMap { Int($0.1) }
        try #require(pids.count == 1, "\(log(harness, "once"))")
        // It stays down: watched for 2 s after its exit, nothing restarts it.
        try await Task.sleep(for: .seconds(2))
        let detail = try #require(try await harness.detail("service.once"))
        #expect(detail["replicas_ready"]?.intValue == 0 && ints(detail["pids"]).isEmpty, "\(detail)")
        #expect(RuntimeHarness.alive(pids).isEmpty)
        #expect(!log(harness, "once").contains("restarting"), "\(log(harness, "once"))")
        let text = try harness.kumo(["status"]).stdout
        let row = text.split(separator: "\n").first { $0.hasPrefix("service.once") }.map(String.init) ?? text
        #expect(row.contains("0/1 ready"), "\(row)")
        #expect(row.contains("last error: replica 1 exited (exit status 3) and restart is 'no'"), "\(row)")
        #expect(row.contains("replica 1 exited, last exit: exit status 3, stderr: fatal: leaving after 1.0 s with status 3"), "\(row)")
        let replica = try #require(try statusRow(harness, "once")?["detail"]?["replica_detail"]?.arrayValue?.first)
        #expect(replica["state"]?.stringValue == "exited" && replica["restarts"]?.intValue == 0 && replica["pid"]?.intValue == nil, "\(replica)")

        // Until an apply replaces it: `--refresh` sees a replica not ready and repairs it.
        let repair = try harness.kumo(["apply", "--auto-approve", "--refresh", "--no-color", "--target", "service.once"])
        #expect(repair.status == 0 && repair.stdout.contains("service.once"), "\(repair.stdout)\n\(repair.stderr)")
        let listed = try statusRow(harness, "once")?["detail"]?["replica_detail"]?.arrayValue?.compactMap { $0["replica"]?.intValue }
        #expect(listed == [2], "replica 2 replaces replica 1: \(String(describing: listed))")
    }

    /// `restart: always` restarts a replica that exits cleanly — once after a second, then at
    /// once after each restart (a crash loop) — with back-off from 100 ms doubling: the restart
    /// count rises in `kumo status --json`, and the log names each delay.
    @Test func restartAlwaysRestartsWithAGrowingBackoff() async throws {
        let (harness, _) = try applied(["service.always"])
        var seen: [Int] = []
        let rose = try await RuntimeHarness.waitUntil(timeout: 30) {
            let restarts = try self.statusRow(harness, "always")?["detail"]?["replica_detail"]?.arrayValue?.first?["restarts"]?.intValue ?? 0
            if seen.last != restarts { seen.append(restarts) }
            return restarts >= 4
        }
        #expect(rose, "restarts seen in kumo status: \(seen); \(log(harness, "always").suffix(1500))")
        #expect(seen == seen.sorted() && seen.count >= 2, "the count rises: \(seen)")
        // Log lines are written in batches: wait for the fourth.
        var delays: [Int] = []
        _ = try await RuntimeHarness.waitUntil(timeout: 5) {
            delays = self.log(harness, "always").matches(of: #/restarting replica 1 in (\d+) ms \(exit status 0\)/#).compactMap { Int($0.1) }
            return delays.count >= 4
        }
        #expect(Array(delays.prefix(4)) == [100, 200, 400, 800], "\(delays)")
    }

    /// `exec` health checks: a probe command that exits 0 keeps the replica ready, one that
    /// fails takes it out of the balancer, and it is ready again once the probe passes.
    @Test func execHealthChecksDecideReadiness() async throws {
        let (harness, port) = try applied(["service.front"])
        let before = try #require(try await harness.detail("service.front"))
        #expect(before["replicas_ready"]?.intValue == 1 && before["replica_detail"]?.arrayValue?.first?["state"]?.stringValue == "ready", "\(before)")
        FileManager.default.createFile(atPath: harness.directory + "/sick", contents: nil)
        var state = ""
        let out = try await RuntimeHarness.waitUntil(timeout: 15) {
            let detail = try await harness.detail("service.front")
            state = detail?["replica_detail"]?.arrayValue?.first?["state"]?.stringValue ?? "none"
            return detail?["replicas_ready"]?.intValue == 0
        }
        #expect(out, "a failing probe left the replica ready: \(log(harness, "front"))")
        #expect(state != "ready", "\(state)")
        #expect(try await logged(harness, "front", "replica 1 failed 1 health checks: out of the balancer, restarting"), "\(log(harness, "front"))")
        try FileManager.default.removeItem(atPath: harness.directory + "/sick")
        let back = try await RuntimeHarness.waitUntil(timeout: 15) { try await harness.detail("service.front")?["replicas_ready"]?.intValue == 1 }
        #expect(back, "a passing probe did not make the replica ready: \(log(harness, "front"))")
        #expect(try await harness.http(.GET, port: port, "/").status == 200)
        // One failure, one restart: the kill that ends the unhealthy process is not another.
        let restarts = try await harness.detail("service.front")?["replica_detail"]?.arrayValue?.first?["restarts"]?.intValue
        #expect(restarts == 1, "\(log(harness, "front"))")
        #expect(log(harness, "front").components(separatedBy: "restarting replica 1 in").count == 2, "\(log(harness, "front"))")
    }

    /// `resources.memory` on replicas: a replica that allocates past its 64 MB is killed and,
    /// under `restart: on-failure`, restarted.
    @Test func aReplicaOverItsMemoryIsKilledAndRestarted() async throws {
        let (harness, _) = try applied(["service.hog"])
        let detail = try #require(try await harness.detail("service.hog"))
        let pid = try #require(ints(detail["pids"]).first)
        let replicaPort = try #require(ints(detail["ports"]).first)
        // The request never gets an answer: the replica is killed while it holds the memory.
        let hog = Task { _ = try? await harness.http(.GET, port: replicaPort, "/hog?mb=200") }
        defer { hog.cancel() }
        let restarted = try await RuntimeHarness.waitUntil(timeout: 20) {
            let d = try await harness.detail("service.hog")
            let restarts = d?["replica_detail"]?.arrayValue?.first?["restarts"]?.intValue ?? 0
            return restarts == 1 && d?["replicas_ready"]?.intValue == 1
        }
        #expect(restarted, "\(log(harness, "hog"))")
        #expect(RuntimeHarness.alive([pid]).isEmpty, "the replica over its limit still runs")
        let now = ints(try await harness.detail("service.hog")?["pids"])
        #expect(now.count == 1 && now != [pid], "\(now)")
        #expect(try await logged(harness, "hog", "over its memory limit of 64 MB: killed"), "\(log(harness, "hog"))")
        #expect(try await harness.detail("service.hog")?["last_error"]?.stringValue == "replica 1 exceeded its memory limit of 64 MB")
    }

    /// "`kumo status` shows each replica's restarts, last exit status and last stderr lines":
    /// for a replica that keeps failing, in the table and in `--json`.
    @Test func kumoStatusShowsAReplicasLastExitAndStderr() async throws {
        let (harness, _) = try applied(["service.crashy"])
        let line = "fatal: leaving after 0.5 s with status 2"
        var row = ""
        // The table names a replica that is not ready: one waiting for its restart.
        let shown = try await RuntimeHarness.waitUntil(timeout: 30) {
            let text = try harness.kumo(["status"]).stdout
            row = text.split(separator: "\n").first { $0.hasPrefix("service.crashy") }.map(String.init) ?? text
            return row.contains("last exit: exit status 2") && row.contains("stderr: \(line)")
        }
        #expect(shown, "\(row)")
        #expect(row.contains(" restart"), "\(row)")
        let replica = try #require(try statusRow(harness, "crashy")?["detail"]?["replica_detail"]?.arrayValue?.first)
        #expect(replica["last_exit"]?.stringValue == "exit status 2", "\(replica)")
        #expect(replica["recent_stderr"]?.arrayValue?.contains(.string(line)) == true, "\(replica)")
        #expect((replica["restarts"]?.intValue ?? 0) >= 1, "\(replica)")
    }
}
