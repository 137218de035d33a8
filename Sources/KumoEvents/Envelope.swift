import Foundation

/// One entry of a PutEvents request, and the EventBridge event it becomes.
public struct PutEventsEntry: Sendable, Equatable {
    public var source: String?
    public var detailType: String?
    /// JSON text of an object.
    public var detail: String?
    public var resources: [String]
    public var eventBusName: String?
    public var time: Date?
    public var traceHeader: String?

    /// The largest entry EventBridge accepts, in bytes as ``size`` counts them.
    public static let maximumSize = 256 * 1024

    public init(source: String?, detailType: String?, detail: String?, resources: [String] = [], eventBusName: String? = nil,
                time: Date? = nil, traceHeader: String? = nil) {
        self.source = source
        self.detailType = detailType
        self.detail = detail
        self.resources = resources
        self.eventBusName = eventBusName
        self.time = time
        self.traceHeader = traceHeader
    }

    /// The entry's size as EventBridge counts it: 14 bytes for a time, then the UTF-8 bytes of
    /// the source, the detail type, the detail and each resource.
    public var size: Int {
        (time == nil ? 0 : 14) + (source?.utf8.count ?? 0) + (detailType?.utf8.count ?? 0) + (detail?.utf8.count ?? 0)
            + resources.reduce(0) { $0 + $1.utf8.count }
    }

    /// Why EventBridge would refuse this entry (its per-entry `ErrorCode` and `ErrorMessage`),
    /// with the parsed detail when it is accepted.
    public func check() -> Result<JSON, EntryError> {
        guard let source, !source.isEmpty else {
            return .failure(EntryError(code: "InvalidArgument", message: "Parameter Source is not valid. Reason: Source is a required argument."))
        }
        guard let detailType, !detailType.isEmpty else {
            return .failure(EntryError(code: "InvalidArgument", message: "Parameter DetailType is not valid. Reason: DetailType is a required argument."))
        }
        guard let detail, !detail.isEmpty else {
            return .failure(EntryError(code: "InvalidArgument", message: "Parameter Detail is not valid. Reason: Detail is a required argument."))
        }
        guard size <= PutEventsEntry.maximumSize else {
            return .failure(EntryError(code: "InvalidArgument", message: "Entry size \(size) bytes exceeds the maximum of \(PutEventsEntry.maximumSize) bytes."))
        }
        guard let parsed = try? JSON.parse(Array(detail.utf8)), case .object = parsed else {
            return .failure(EntryError(code: "MalformedDetail", message: "Detail is malformed."))
        }
        return .success(parsed)
    }

    /// The event as rules and targets see it, in EventBridge's key order.
    public func event(id: String, detail: JSON, account: String, region: String, receivedAt: Date) -> JSON {
        .object([
            ("version", .string("0")),
            ("id", .string(id)),
            ("detail-type", .string(detailType ?? "")),
            ("source", .string(source ?? "")),
            ("account", .string(account)),
            ("time", .string(Timestamp.iso8601(time ?? receivedAt))),
            ("region", .string(region)),
            ("resources", .array(resources.map { .string($0) })),
            ("detail", detail),
        ])
    }

    /// The envelope of a scheduled event.
    public static func scheduledEvent(id: String, ruleARN: String, account: String, region: String, at date: Date) -> JSON {
        .object([
            ("version", .string("0")),
            ("id", .string(id)),
            ("detail-type", .string("Scheduled Event")),
            ("source", .string("aws.events")),
            ("account", .string(account)),
            ("time", .string(Timestamp.iso8601(date))),
            ("region", .string(region)),
            ("resources", .array([.string(ruleARN)])),
            ("detail", .object([])),
        ])
    }
}

/// A PutEvents entry's `ErrorCode` and `ErrorMessage`.
public struct EntryError: Error, Sendable, Equatable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}
