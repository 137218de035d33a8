import Foundation
import Hummingbird
import HTTPTypes
import KumoEvents
import KumoPlan

extension Runtime {
    /// The control API's `/v1/events` routes, behind the same bearer token as the rest.
    static func events(_ request: Request, path: String, bus: EventBus) async throws -> Response {
        let query = request.uri.queryParameters
        func action() async throws -> ControlAPI.Events.Action {
            let body = try await request.bytes(limit: 1024 * 1024)
            return body.isEmpty ? ControlAPI.Events.Action() : try ControlAPI.decode(ControlAPI.Events.Action.self, from: body)
        }
        do {
            switch (request.method, path) {
            case (.post, "/v1/events"):
                let body = try await request.bytes(limit: 16 * 1024 * 1024)
                let put = try ControlAPI.decode(ControlAPI.Events.PutRequest.self, from: body)
                var entries: [PutEventsEntry] = []
                for entry in put.entries {
                    var time: Date?
                    if let text = entry.time {
                        guard let date = ISO8601.date(text) else { return .error(.badRequest, "time '\(text)' is not an ISO-8601 date such as 2026-11-30T12:00:00Z") }
                        time = date
                    }
                    entries.append(PutEventsEntry(source: entry.source, detailType: entry.detailType, detail: entry.detail, resources: entry.resources ?? [], time: time))
                }
                let results = try await bus.put(entries)
                return .json(.ok, ControlAPI.encode(ControlAPI.Events.PutResponse(
                    failedEntryCount: results.filter { if case .failure = $0 { true } else { false } }.count,
                    entries: results.map { result in
                        switch result {
                        case .success(let id): ControlAPI.Events.PutResponse.Entry(eventID: id, errorCode: nil, errorMessage: nil)
                        case .failure(let e): ControlAPI.Events.PutResponse.Entry(eventID: nil, errorCode: e.code, errorMessage: e.message)
                        }
                    })))
            case (.get, "/v1/events"):
                let limit = query["limit"].flatMap { Int($0) } ?? 20
                return .json(.ok, ControlAPI.encode(try await bus.list(limit: max(1, min(limit, 10_000)), rule: query["rule"].map(String.init))))
            case (.get, "/v1/events/dlq"):
                return .json(.ok, ControlAPI.encode(try await bus.deadLetters(rule: query["rule"].map(String.init))))
            case (.post, "/v1/events/redrive"):
                return .json(.ok, ControlAPI.encode(try await bus.redrive(rule: try await action().rule)))
            case (.post, "/v1/events/replay"):
                let a = try await action()
                guard let fromText = a.from, let from = ISO8601.date(fromText), let toText = a.to, let to = ISO8601.date(toText) else {
                    return .error(.badRequest, "a replay needs 'from' and 'to' as ISO-8601 dates such as 2026-11-30T12:00:00Z")
                }
                return .json(.ok, ControlAPI.encode(try await bus.replay(from: from, to: to, rule: a.rule)))
            case (.post, "/v1/events/fire"):
                guard let rule = try await action().rule else { return .error(.badRequest, "name the rule (or function) to fire") }
                return .json(.ok, ControlAPI.encode(try await bus.fireNow(rule)))
            default:
                return .error(.notFound, "unknown events path \(path)")
            }
        } catch let error as RuntimeError {
            return .error(.unprocessableContent, error.description)
        } catch let error as DecodingError {
            return .error(.badRequest, "cannot read the request: \(error)")
        }
    }
}

/// ISO-8601 dates as users type them: KumoEvents' timestamps (fractional seconds, `Z` or an
/// offset), or a date alone (midnight UTC).
enum ISO8601 {
    static func date(_ text: String) -> Date? {
        Timestamp.parse(text) ?? Timestamp.parse(text + "T00:00:00Z")
    }
}
