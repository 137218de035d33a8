import Foundation

/// One entry of a `PutEvents` request, as a producer sends it.
///
/// Its ``size`` is counted as EventBridge counts it ("Calculating PutEvents event entry size"):
/// 14 bytes for a `Time`, then the UTF-8 bytes of `Source`, `DetailType`, `Detail` and each
/// resource; an entry may be at most ``maximumSize`` (256 KB).
public struct PutEventsEntry: Sendable, Equatable {
    public var source: String
    public var detailType: String
    /// JSON text of an object.
    public var detail: String
    public var resources: [String]
    public var eventBusName: String?
    public var time: Date?
    public var traceHeader: String?

    public init(source: String, detailType: String, detail: String, resources: [String] = [], eventBusName: String? = nil, time: Date? = nil, traceHeader: String? = nil) {
        self.source = source
        self.detailType = detailType
        self.detail = detail
        self.resources = resources
        self.eventBusName = eventBusName
        self.time = time
        self.traceHeader = traceHeader
    }

    /// 256 KB, the largest entry EventBridge takes.
    public static let maximumSize = 262_144

    public var size: Int {
        (time == nil ? 0 : 14) + source.utf8.count + detailType.utf8.count + detail.utf8.count
            + resources.reduce(0) { $0 + $1.utf8.count }
    }

    /// The per-entry error PutEvents reports for this entry (`ErrorCode`, `ErrorMessage`), nil
    /// when EventBridge accepts it. Codes are those of `PutEventsResultEntry`: `InvalidArgument`
    /// (a parameter is not valid) and `MalformedDetail` (the JSON is not valid).
    public func validate() -> (code: String, message: String)? {
        for (name, value) in [("Source", source), ("DetailType", detailType), ("Detail", detail)] where value.isEmpty {
            return ("InvalidArgument", "Parameter \(name) is not valid. Reason: \(name) is a required argument.")
        }
        guard detail.utf8.first(where: { ![32, 9, 10, 13].contains($0) }) == UInt8(ascii: "{"), JSONSyntax.isJSON(detail) else {
            return ("MalformedDetail", "Detail is malformed.")
        }
        if size > Self.maximumSize {
            return ("InvalidArgument", "Entry size \(size) bytes is over the limit of \(Self.maximumSize) bytes.")
        }
        return nil
    }

    /// The event EventBridge builds from the entry, with its keys in AWS's order: `version`,
    /// `id`, `detail-type`, `source`, `account`, `time` (the entry's, else `receivedAt`, to the
    /// second), `region`, `resources`, `detail`. The entry must have passed ``validate()``.
    public func event(id: String, account: String, region: String, receivedAt: Date) -> JSON {
        .object([
            ("version", .string("0")),
            ("id", .string(id)),
            ("detail-type", .string(detailType)),
            ("source", .string(source)),
            ("account", .string(account)),
            ("time", .string(Timestamp.iso8601(time ?? receivedAt))),
            ("region", .string(region)),
            ("resources", .array(resources.map(JSON.string))),
            ("detail", (try? JSON.parse(detail)) ?? .object([])),
        ])
    }
}
