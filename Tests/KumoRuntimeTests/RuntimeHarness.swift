import AsyncHTTPClient
import Foundation
import KumoManifest
import KumoApply
import KumoPlan
import KumoRuntime
import KumoTestSupport
import NIOCore
import NIOHTTP1
import Testing

typealias HarnessError = SupportError

/// What the runtime suites add to the shared harness: HTTP to the gateway and front ports, and
/// the runtime's status through the control API.
extension RuntimeHarness {
    struct HTTPResult {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        var json: ConfigValue? { try? ConfigValue(json: body) }
    }

    func http(_ method: HTTPMethod, port: Int, _ path: String, body: String? = nil, headers: [(String, String)] = []) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let text = String(buffer: try await response.body.collect(upTo: 16 * 1024 * 1024))
        return HTTPResult(status: Int(response.status.code), headers: response.headers, body: text)
    }

    func gateway(_ method: HTTPMethod, _ path: String, body: String? = nil, headers: [(String, String)] = []) async throws -> HTTPResult {
        guard let info else { throw HarnessError("no runtime") }
        return try await http(method, port: info.gatewayPort, path, body: body, headers: headers)
    }

    func invoke(_ function: String, _ payload: String, type: String = "RequestResponse") async throws -> HTTPResult {
        try await gateway(.POST, "/2015-03-31/functions/\(function)/invocations", body: payload, headers: [("X-Amz-Invocation-Type", type)])
    }

    func status() async throws -> ControlAPI.Status {
        guard let info else { throw HarnessError("no runtime") }
        return try await RuntimeClient(info: info).status()
    }

    /// A resource's `detail` as the control API sends it (JSON), so tests read the wire names.
    func detail(_ address: String) async throws -> ConfigValue? {
        guard let resource = try await status().resources.first(where: { $0.address == address }) else { return nil }
        return try ConfigValue(json: String(decoding: ControlAPI.encode(resource), as: UTF8.self))["detail"]
    }

    /// The pid of every process the runtime reports (workers and replicas).
    func pids() async throws -> [Int] {
        try await status().resources.flatMap { $0.detail.pids.map(Int.init) }
    }

    /// Raises this process's soft limit on open descriptors to at least `wanted` (a daemon
    /// started afterwards inherits it); false when the hard limit is lower.
    static func raiseDescriptorLimit(to wanted: Int) -> Bool {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return false }
        if limit.rlim_cur >= rlim_t(wanted) { return true }
        guard limit.rlim_max >= rlim_t(wanted) else { return false }
        limit.rlim_cur = rlim_t(wanted)
        return setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0
    }

    /// The lines of a log under `.kumo/logs/` (`runtime`, `service.web`, …) that contain `text`.
    func logLines(_ address: String, containing text: String) -> [String] {
        let log = (try? String(contentsOfFile: directory + "/.kumo/logs/\(address).log", encoding: .utf8)) ?? ""
        return log.split(separator: "\n").map(String.init).filter { $0.contains(text) }
    }

    /// The connection cap of the listener on `port` (issue 15.5): with 1024 connections held,
    /// five more are closed at once; after one closes, `request` is answered with `status`; and
    /// the `log` says so in one line naming `listener`. Held connections send nothing, so the
    /// whole check must end before their 10 s header timeout.
    func expectConnectionCap(port: Int, request: String, status: String, log: String, listener: String) async throws {
        var held = try RawHTTP.hold(port: port, count: 1024)
        defer { for fd in held { close(fd) } }
        for attempt in 0..<5 {
            let refused = try RawHTTP.closedAfter(port: port, "", limit: 2)
            #expect(refused.seconds != nil, "connection \(1025 + attempt) over the cap is closed at once")
        }
        close(held.removeLast())
        let served = try await RuntimeHarness.waitUntil(timeout: 3) {
            try RawHTTP.closedAfter(port: port, request, limit: 2).received.hasPrefix("HTTP/1.1 \(status)")
        }
        #expect(served, "under the cap again, a connection is served")
        let logged = try await RuntimeHarness.waitUntil(timeout: 3) { !self.logLines(log, containing: "cap of 1024").isEmpty }
        #expect(logged)
        let lines = logLines(log, containing: "cap of 1024")
        #expect(lines.count == 1 && lines[0].contains("\(listener)127.0.0.1:\(port)"), "one line for five refused connections: \(lines)")
    }
}
