import Foundation
import KumoManifest
import KumoRuntime
import KumoState
import NIOHTTP1
import Testing

/// Services end to end: replicas behind the front port, health, restarts, rolling updates.
@Suite(.serialized) struct ServiceRuntimeTests {
    /// The fixture with its front port moved to a free one, applied on a fresh runtime.
    func applied() throws -> (RuntimeHarness, Int) {
        let harness = try RuntimeHarness(copying: "Tests/Fixtures/services")
        let port = try freePort()
        try setVariable(harness, "webPort", String(port))
        _ = try harness.startRuntime()
        let apply = try harness.kumo(["apply", "--auto-approve", "--no-color"])
        guard apply.status == 0 else { throw HarnessError("apply failed: \(apply.stdout)\n\(apply.stderr)") }
        return (harness, port)
    }

    func setVariable(_ harness: RuntimeHarness, _ name: String, _ value: String) throws {
        let path = harness.directory + "/kumo.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // The variable in the `default:` stage's flow mapping (not a top-level key).
        let pattern = try NSRegularExpression(pattern: "(?<=[{,] )\(name): [^,}]+")
        let replaced = pattern.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "\(name): \"\(value)\"")
        try replaced.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func who(_ harness: RuntimeHarness, _ port: Int, path: String = "/") async throws -> ConfigValue? {
        let result = try await harness.http(.GET, port: port, path)
        return result.status == 200 ? result.json : nil
    }

    @Test func requestsSpreadOverReadyReplicas() async throws {
        let (harness, port) = try applied()
        let detail = try #require(try await harness.detail("service.web"))
        #expect(detail["replicas_ready"]?.intValue == 3)
        var ports: [Int: Int] = [:]
        try await withThrowingTaskGroup(of: Int?.self) { group in
            for _ in 0..<30 { group.addTask { try await self.who(harness, port, path: "/slow")?["port"]?.intValue } }
            for try await answer in group { if let answer { ports[answer, default: 0] += 1 } }
        }
        #expect(ports.values.reduce(0, +) == 30, "every request answered")
        #expect(ports.count == 3, "all three replicas served: \(ports)")
        // The worker got the web service's front URL and started after web was healthy.
        let worker = try #require(try await harness.detail("service.worker"))
        #expect(worker["replicas_ready"]?.intValue == 1)
        let log = try String(contentsOfFile: harness.directory + "/.kumo/logs/service.worker.log", encoding: .utf8)
        #expect(log.contains("replica 1 ready"))
        let state = try StateStore.open(path: harness.directory + "/.kumo/state.db", create: false)!.snapshot()
        #expect(state.resources["service.worker"]?.dependencies == ["service.web"])
    }

    @Test func aReplicaKilledUnderLoadIsRestarted() async throws {
        let (harness, port) = try applied()
        let pids = try #require(try await harness.detail("service.web")?["pids"]?.arrayValue?.compactMap(\.intValue))
        let victim = pids[0]
        let counts = Counts()
        let load = Task {
            while !Task.isCancelled {
                let ok = (try? await self.who(harness, port)) != nil
                if Task.isCancelled { break }
                counts.add(ok)
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        kill(pid_t(victim), SIGKILL)
        let restarted = try await RuntimeHarness.waitUntil(timeout: 10) {
            let d = try await harness.detail("service.web")
            let restarts = d?["replica_detail"]?.arrayValue?.compactMap { $0["restarts"]?.intValue }.reduce(0, +) ?? 0
            return restarts >= 1 && d?["replicas_ready"]?.intValue == 3
        }
        // Keep the load on the restarted set for a while, then stop it.
        try await Task.sleep(for: .seconds(1))
        load.cancel()
        _ = await load.value
        #expect(restarted, "the killed replica came back")
        #expect(!RuntimeHarness.alive([victim]).isEmpty == false)
        let (ok, failed) = counts.values
        #expect(ok >= 3, "the load ran through the restart")
        #expect(failed <= 1, "only the killed replica's in-flight request may fail: \(failed) of \(ok + failed)")
        let status = try harness.kumo(["status", "--json"])
        #expect(status.stdout.contains("\"restarts\": 1"))
    }

    @Test func anUnhealthyReplicaLeavesTheBalancerAndComesBack() async throws {
        let (harness, port) = try applied()
        let ports = try #require(try await harness.detail("service.web")?["ports"]?.arrayValue?.compactMap(\.intValue))
        let sick = ports[1]
        FileManager.default.createFile(atPath: harness.directory + "/web/unhealthy-\(sick)", contents: nil)
        let out = try await RuntimeHarness.waitUntil(timeout: 5) {
            (try await harness.detail("service.web")?["replicas_ready"]?.intValue ?? 3) < 3
        }
        #expect(out, "the replica left the balancer")
        for _ in 0..<20 { #expect(try await who(harness, port)?["port"]?.intValue != sick) }
        try FileManager.default.removeItem(atPath: harness.directory + "/web/unhealthy-\(sick)")
        let back = try await RuntimeHarness.waitUntil(timeout: 10) {
            try await harness.detail("service.web")?["replicas_ready"]?.intValue == 3
        }
        #expect(back, "restarted and healthy again")
        let log = try String(contentsOfFile: harness.directory + "/.kumo/logs/service.web.log", encoding: .utf8)
        #expect(log.contains("health checks: out of the balancer, restarting"))
    }

    @Test func aRollingUpdateUnderLoadFailsNoRequest() async throws {
        let (harness, port) = try applied()
        let counts = Counts()
        let versions = Versions()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        for _ in 0..<2000 where !Task.isCancelled {
                            let answer = try? await self.who(harness, port)
                            if Task.isCancelled { break }  // a request cut short by the test, not by the service
                            counts.add(answer != nil)
                            if let v = answer?["version"]?.stringValue { versions.add(v) }
                        }
                    }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        try setVariable(harness, "version", "v2")
        let apply = try harness.kumo(["apply", "--auto-approve", "--no-color"])
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
        try await Task.sleep(for: .milliseconds(300))
        load.cancel()
        _ = await load.value
        let (ok, failed) = counts.values
        #expect(failed == 0, "\(failed) of \(ok + failed) requests failed during the rollout")
        #expect(ok > 50)
        #expect(versions.seen.contains("v1") && versions.seen.contains("v2"))
        for _ in 0..<10 { #expect(try await who(harness, port)?["version"]?.stringValue == "v2") }
        let log = try String(contentsOfFile: harness.directory + "/.kumo/logs/service.web.log", encoding: .utf8)
        #expect(log.contains("(new) is healthy; draining replica"))
    }

    @Test func aBadUpdateLeavesTheOldVersionServing() async throws {
        let (harness, port) = try applied()
        try setVariable(harness, "version", "broken")
        let apply = try harness.kumo(["apply", "--auto-approve", "--no-color"])
        #expect(apply.status == 1)
        #expect(apply.stderr.contains("rollout failed"), "\(apply.stderr)")
        #expect(apply.stderr.contains("this version exits at once"))
        for _ in 0..<10 { #expect(try await who(harness, port)?["version"]?.stringValue == "v1") }
        #expect(try await harness.detail("service.web")?["replicas_ready"]?.intValue == 3)
        // The state says the update did not land: the next plan tries again.
        let state = try StateStore.open(path: harness.directory + "/.kumo/state.db", create: false)!.snapshot()
        #expect(state.resources["service.web"]?.spec["environment"]?["VERSION"]?.stringValue == "v1")
        #expect(try harness.kumo(["plan", "--detailed-exitcode"]).status == 2)
        // Destroy stops everything gracefully.
        let pids = try await harness.status()["resources"]?.arrayValue?.flatMap { $0["detail"]?["pids"]?.arrayValue?.compactMap(\.intValue) ?? [] } ?? []
        #expect(try harness.kumo(["down"]).status == 0)
        #expect(try await RuntimeHarness.waitUntil { RuntimeHarness.alive(pids).isEmpty })
    }
}

final class Counts: @unchecked Sendable {
    private let lock = NSLock()
    private var ok = 0, failed = 0
    func add(_ success: Bool) {
        lock.lock()
        if success { ok += 1 } else { failed += 1 }
        lock.unlock()
    }
    var values: (Int, Int) {
        lock.lock()
        defer { lock.unlock() }
        return (ok, failed)
    }
}

final class Versions: @unchecked Sendable {
    private let lock = NSLock()
    private var set = Set<String>()
    func add(_ v: String) {
        lock.lock()
        set.insert(v)
        lock.unlock()
    }
    var seen: Set<String> {
        lock.lock()
        defer { lock.unlock() }
        return set
    }
}
