import AsyncHTTPClient
import Foundation
import KumoManifest
import NIOCore
import NIOHTTP1

/// Talks to a running runtime's control API (loopback, bearer token from runtime.json).
public struct RuntimeClient: Sendable {
    public let info: RuntimeInfo

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(info: RuntimeInfo) {
        self.info = info
    }

    /// The runtime serving `projectDirectory`, or a clear error saying how to start one.
    public static func connect(projectDirectory: String) throws -> RuntimeClient {
        guard let info = RuntimeInfo.load(projectDirectory: projectDirectory) else {
            throw Failure(description: "no Kumo runtime is running for \(projectDirectory) (no live .kumo/runtime.json); start one with 'kumo runtime start', or use 'kumo up'")
        }
        return RuntimeClient(info: info)
    }

    public func deploy(address: String, spec: ConfigValue, codeHash: String?, secrets: [String: String]) async throws {
        let body: ConfigValue = .object([
            ("spec", spec), ("code_hash", codeHash.map { .string($0) } ?? .null),
            ("secrets", .object(secrets.keys.sorted().map { ($0, .string(secrets[$0]!)) })),
        ])
        _ = try await request(.PUT, "/v1/resources/\(address)", body: body.compactJSON(), timeout: .seconds(600))
    }

    public func remove(address: String) async throws {
        _ = try await request(.DELETE, "/v1/resources/\(address)", timeout: .seconds(120))
    }

    public func status() async throws -> ConfigValue {
        let text = try await request(.GET, "/v1/status", timeout: .seconds(30))
        return try ConfigValue(json: text)
    }

    public func shutdown() async throws {
        _ = try await request(.POST, "/v1/shutdown", timeout: .seconds(30))
    }

    func request(_ method: HTTPMethod, _ path: String, body: String? = nil, timeout: TimeAmount) async throws -> String {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(info.controlPort)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(info.token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: timeout)
        } catch {
            throw Failure(description: "the runtime (pid \(info.pid), 127.0.0.1:\(info.controlPort)) did not answer: \(error)")
        }
        let text = String(buffer: try await response.body.collect(upTo: 64 * 1024 * 1024))
        guard (200..<300).contains(Int(response.status.code)) else {
            let message = (try? ConfigValue(json: text))?["error"]?.stringValue ?? text
            throw Failure(description: message)
        }
        return text
    }
}
