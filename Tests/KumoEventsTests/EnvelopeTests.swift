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

    /// (entry, the PutEvents error): refusals decided before the detail is parsed.
    static let refused: [(PutEventsEntry, String)] = [
        (PutEventsEntry(source: "", detailType: "Order Placed", detail: "{}"), "InvalidArgument: Parameter Source is not valid. Reason: Source is a required argument."),
        (PutEventsEntry(source: "shop", detailType: nil, detail: "{}"), "InvalidArgument: Parameter DetailType is not valid. Reason: DetailType is a required argument."),
        (PutEventsEntry(source: "shop", detailType: "T", detail: ""), "InvalidArgument: Parameter Detail is not valid. Reason: Detail is a required argument."),
        (PutEventsEntry(source: "shop", detailType: "T", detail: #"{"a":""# + String(repeating: "x", count: 262_144) + #""}"#),
         "InvalidArgument: Entry size 262157 bytes exceeds the maximum of 262144 bytes."),
    ]

    @Test(arguments: refused) func checkMirrorsPutEvents(_ entry: PutEventsEntry, _ expected: String) {
        guard case .failure(let error) = entry.check() else { Issue.record("accepted"); return }
        #expect("\(error.code): \(error.message)" == expected)
    }

    @Test func timestampsAreWholeSecondsUTC() {
        #expect(Timestamp.iso8601(Date(timeIntervalSince1970: 1_796_004_000.9)) == "2026-11-30T02:00:00Z")
        #expect(Timestamp.iso8601(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
        #expect(Timestamp.parse("2026-11-30T03:00:00+01:00") == Date(timeIntervalSince1970: 1_796_004_000))
        #expect(Timestamp.parse("2026-02-30T00:00:00Z") == nil)
    }
}
