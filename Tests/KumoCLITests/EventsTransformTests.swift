import Foundation
import KumoTestSupport
import Testing

/// `kumo events transform`: the exact body a rule target receives.
@Suite struct EventsTransformTests {
    static let event = """
        {"version": "0", "id": "e-1", "detail-type": "OrderPlaced", "source": "shop.orders", "account": "1", "time": "2026-11-30T02:00:00Z",
         "region": "us-east-1", "resources": [], "detail": {"id": "ord_1", "total": 150.5, "customer": {"email": "ada@example.com"}, "items": [1, 2]}}
        """

    func kumo(_ arguments: [String]) throws -> KumoTestSupport.Output {
        try KumoTestSupport.run(["events", "transform", "--event", EventsTransformTests.event] + arguments)
    }

    @Test func aTemplateInsertsJSONValuesAndRawTextInsideQuotes() throws {
        let result = try kumo(["--input-paths-map", "{\"id\": \"$.detail.id\", \"total\": \"$.detail.total\"}",
                               "--input-template", "{\"orderId\": <id>, \"total\": <total>, \"note\": \"order <id> of <total>\", \"rule\": \"<aws.events.rule-name>\"}",
                               "--rule-name", "big-order"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "{\"orderId\":\"ord_1\",\"total\":150.5,\"note\":\"order ord_1 of 150.5\",\"rule\":\"big-order\"}")
    }

    @Test func inputPathDeliversPartOfTheEvent() throws {
        let result = try kumo(["--input-path", "$.detail.customer"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "{\"email\":\"ada@example.com\"}")
    }

    @Test func aConstantInputReplacesTheEvent() throws {
        let result = try kumo(["--input", "{\"tick\": true}"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "{\"tick\": true}")
    }

    @Test func withoutATransformerTheTargetGetsTheEvent() throws {
        let result = try kumo([])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("{\"version\":\"0\",\"id\":\"e-1\""))
    }

    @Test func anArrayInsideQuotesIsUndeliverable() throws {
        let result = try kumo(["--input-paths-map", "{\"items\": \"$.detail.items\"}", "--input-template", "{\"items\": \"<items>\"}"])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("items"), "\(result.stderr)")
    }

    @Test func anInvalidEventIsRefused() throws {
        let result = try KumoTestSupport.run(["events", "transform", "--event", "{not json"])
        #expect(result.status == 1)
        #expect(!result.stderr.isEmpty)
    }
}
