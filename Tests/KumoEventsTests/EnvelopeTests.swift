import Foundation
import Testing
@testable import KumoEvents

@Suite struct EnvelopeTests {
    @Test func sizeCountsAsAWSDoes() {
        // 14 for a time, then UTF-8 bytes of source, detail type, detail and each resource.
        var entry = PutEventsEntry(source: "shop", detailType: "Order Placed", detail: #"{"id":"é"}"#, resources: ["arn:a", "arn:bb"])
        #expect(entry.size == 4 + 12 + 11 + 5 + 6)
        entry.time = Date(timeIntervalSince1970: 0)
        entry.eventBusName = "ignored-by-the-count"
        entry.traceHeader = "ignored-too"
        #expect(entry.size == 14 + 4 + 12 + 11 + 5 + 6)
    }

    /// (entry, the PutEvents error or nil)
    static let entries: [(PutEventsEntry, String?)] = [
        (PutEventsEntry(source: "shop", detailType: "Order Placed", detail: #" {"id": 1}"#), nil),
        (PutEventsEntry(source: "", detailType: "Order Placed", detail: "{}"), "InvalidArgument: Parameter Source is not valid. Reason: Source is a required argument."),
        (PutEventsEntry(source: "shop", detailType: "", detail: "{}"), "InvalidArgument: Parameter DetailType is not valid. Reason: DetailType is a required argument."),
        (PutEventsEntry(source: "shop", detailType: "T", detail: ""), "InvalidArgument: Parameter Detail is not valid. Reason: Detail is a required argument."),
        (PutEventsEntry(source: "shop", detailType: "T", detail: "[1]"), "MalformedDetail: Detail is malformed."),
        (PutEventsEntry(source: "shop", detailType: "T", detail: "{id: 1}"), "MalformedDetail: Detail is malformed."),
        (PutEventsEntry(source: "shop", detailType: "T", detail: #"{"a":""# + String(repeating: "x", count: 262_144) + #""}"#),
         "InvalidArgument: Entry size 262157 bytes is over the limit of 262144 bytes."),
        (PutEventsEntry(source: "s", detailType: "T", detail: #"{"a":""# + String(repeating: "x", count: 262_144 - 10) + #""}"#), nil),
    ]

    @Test(arguments: entries) func validateMirrorsPutEvents(_ entry: PutEventsEntry, _ expected: String?) {
        #expect(entry.validate().map { "\($0.code): \($0.message)" } == expected)
    }
}
