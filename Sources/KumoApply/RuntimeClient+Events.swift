import Foundation
import KumoPlan
import NIOHTTP1

/// The event bus through the control API (`kumo events …`).
extension RuntimeClient {
    public func putEvents(_ request: ControlAPI.Events.PutRequest) async throws -> ControlAPI.Events.PutResponse {
        try await call(.POST, "/v1/events", ControlAPI.encode(request))
    }

    public func events(limit: Int, rule: String?) async throws -> ControlAPI.Events.List {
        try await call(.GET, "/v1/events?limit=\(limit)" + (rule.map { "&rule=\(RuntimeClient.queryEscaped($0))" } ?? ""), nil)
    }

    public func deadLetters(rule: String?) async throws -> ControlAPI.Events.DeadLetters {
        try await call(.GET, "/v1/events/dlq" + (rule.map { "?rule=\(RuntimeClient.queryEscaped($0))" } ?? ""), nil)
    }

    public func redrive(rule: String?) async throws -> ControlAPI.Events.ActionResult {
        try await call(.POST, "/v1/events/redrive", ControlAPI.encode(ControlAPI.Events.Action(rule: rule)))
    }

    public func replay(from: String, to: String, rule: String?) async throws -> ControlAPI.Events.ActionResult {
        try await call(.POST, "/v1/events/replay", ControlAPI.encode(ControlAPI.Events.Action(rule: rule, from: from, to: to)))
    }

    public func fire(_ rule: String) async throws -> ControlAPI.Events.ActionResult {
        try await call(.POST, "/v1/events/fire", ControlAPI.encode(ControlAPI.Events.Action(rule: rule)))
    }

    private func call<T: Decodable>(_ method: HTTPMethod, _ path: String, _ body: [UInt8]?) async throws -> T {
        let bytes = try await request(method, path, body: body, timeout: .seconds(120))
        do { return try ControlAPI.decode(T.self, from: bytes) } catch {
            throw Failure(description: "the runtime's answer to \(path) could not be read: \(error)")
        }
    }

    static func queryEscaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}
