import Foundation
import KumoManifest
import KumoPlan
import Testing

/// The documents the client and the daemon exchange, as JSON.
@Suite struct ControlAPITests {
    @Test func aDeployRequestFromAnotherVersionStillReads() throws {
        let newer = #"{"spec": {"runtime": "python3"}, "code_hash": null, "secrets": {"K": "v"}, "update_strategy": "blue-green"}"#
        let request = try ControlAPI.decode(ControlAPI.DeployRequest.self, from: Array(newer.utf8))
        #expect(request.updateStrategy == nil)
        #expect(request.secrets == ["K": "v"])
        let older = #"{"spec": {"runtime": "python3"}}"#
        let plain = try ControlAPI.decode(ControlAPI.DeployRequest.self, from: Array(older.utf8))
        #expect(plain.updateStrategy == nil && plain.secrets.isEmpty && plain.codeHash == nil)
        let scale = ControlAPI.DeployRequest(spec: .object([]), codeHash: "sha256:x", secrets: [:], updateStrategy: .scale)
        #expect(try ControlAPI.decode(ControlAPI.DeployRequest.self, from: ControlAPI.encode(scale)) == scale)
    }

    /// Status details write every documented key, `null` included, and read back by kind.
    @Test func statusDetailsKeepEveryKeyAndReadBackByKind() throws {
        let replica = ControlAPI.Status.ServiceDetail.Replica(replica: 1, state: "starting", port: 4100, pid: nil, inFlight: 0, restarts: 0,
                                                              cgroup: nil, lastExit: nil, recentStderr: [])
        let service = ControlAPI.Status.ServiceDetail(replicasReady: 0, replicas: 1, ports: [4100], pids: [], lastError: nil, requestsPerSecond: 0,
                                                      inFlight: 0, requests: 0, failedRequests: 0, cpu: 0.25, cpuLimit: "", replicaDetail: [replica])
        let function = ControlAPI.Status.FunctionDetail(warm: 1, busy: 0, starting: 0, queued: 0, invocations: 3, errors: 1, throttles: 0,
                                                        coldStarts: 1, lastError: nil, pids: [42])
        let status = ControlAPI.Status(
            runtime: .init(pid: 7, gatewayPort: 3000, startedAt: "t", projectDirectory: "/p", version: "v", isolation: "namespaces (pid, mount)"),
            resources: [
                .init(address: "function.f", kind: .function, state: "ready", specHash: "h1", codeHash: nil, detail: .function(function)),
                .init(address: "service.s", kind: .service, state: "degraded", specHash: "h2", codeHash: "c", detail: .service(service)),
                .init(address: "rule.r", kind: .rule, state: "registered", specHash: "h3", codeHash: nil, detail: .other(lastError: nil)),
                .init(address: "function.g", kind: .function, state: "failed", specHash: "", codeHash: nil, detail: .other(lastError: "boom")),
            ])
        let json = try ConfigValue(json: String(decoding: ControlAPI.encode(status), as: UTF8.self))
        let resources = try #require(json["resources"]?.arrayValue)
        #expect(resources[0]["detail"]?["last_error"] == .null)
        #expect(resources[0]["detail"]?["cold_starts"]?.intValue == 1)
        #expect(resources[1]["detail"]?["replica_detail"]?.arrayValue?.first?["pid"] == .null)
        #expect(resources[1]["detail"]?["replicas_ready"]?.intValue == 0)
        #expect(resources[3]["detail"]?["last_error"]?.stringValue == "boom")
        #expect(try ControlAPI.decode(ControlAPI.Status.self, from: ControlAPI.encode(status)) == status)
    }
}
