import AsyncHTTPClient
import Foundation
import KumoManifest
import KumoPlan
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
            throw Failure(description: RuntimeInfo.notRunning(projectDirectory: projectDirectory))
        }
        return RuntimeClient(info: info)
    }

    /// Applies one resource: its canonical spec, code hash, the values of the secrets it names
    /// and, for a service update, the plan's strategy.
    public func deploy(_ resource: DesiredResource, secrets: [String: String], update: UpdateStrategy?) async throws {
        let body = ControlAPI.DeployRequest(spec: resource.canonical, codeHash: resource.codeHash, secrets: secrets, updateStrategy: update)
        _ = try await request(.PUT, "/v1/resources/\(resource.address)", body: ControlAPI.encode(body), timeout: .seconds(600))
    }

    public func remove(address: String) async throws {
        _ = try await request(.DELETE, "/v1/resources/\(address)", timeout: .seconds(120))
    }

    public func status() async throws -> ControlAPI.Status {
        let bytes = try await request(.GET, "/v1/status", timeout: .seconds(30))
        do { return try ControlAPI.decode(ControlAPI.Status.self, from: bytes) } catch {
            throw Failure(description: "the runtime's status could not be read: \(error)")
        }
    }

    public func shutdown() async throws {
        _ = try await request(.POST, "/v1/shutdown", timeout: .seconds(30))
    }

    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, timeout: TimeAmount) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(info.controlPort)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(info.token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: timeout)
        } catch {
            throw Failure(description: "the runtime (pid \(info.pid), 127.0.0.1:\(info.controlPort)) did not answer: \(error)")
        }
        let bytes = Array(buffer: try await response.body.collect(upTo: 64 * 1024 * 1024))
        guard (200..<300).contains(Int(response.status.code)) else {
            let message = (try? ControlAPI.decode(ControlAPI.ErrorBody.self, from: bytes))?.error ?? String(decoding: bytes, as: UTF8.self)
            throw Failure(description: message)
        }
        return bytes
    }
}
