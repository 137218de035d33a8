import Foundation
import KumoTestSupport
import Testing

/// `kumo events schedule`: the next fire times of an expression, as the README describes.
@Suite struct EventsScheduleTests {
    func kumo(_ arguments: [String]) throws -> KumoTestSupport.Output {
        try KumoTestSupport.run(["events", "schedule"] + arguments)
    }

    @Test func printsTheNextFiresOnePerLine() throws {
        let result = try kumo(["cron(0 2 L * ? *)", "--from", "2026-11-30T02:00:00Z", "--count", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "2026-12-31T02:00:00Z\n2027-01-31T02:00:00Z\n2027-02-28T02:00:00Z\n")
    }

    @Test func aRateCountsFromTheStart() throws {
        let result = try kumo(["rate(90 minutes)", "--from", "2026-03-01T10:00:30Z", "--count", "2", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["expression"] as? String == "rate(90 minutes)")
        #expect(object["fires"] as? [String] == ["2026-03-01T11:30:30Z", "2026-03-01T13:00:30Z"])
    }

    @Test func defaultsToFiveFromNow() throws {
        let result = try kumo(["rate(1 minute)"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 5)
    }

    @Test func anEndedScheduleSaysSo() throws {
        let result = try kumo(["cron(0 0 1 1 ? 2026-2027)", "--from", "2026-06-01T00:00:00Z"])
        #expect(result.status == 0)
        #expect(result.stdout == "2027-01-01T00:00:00Z\n")
        #expect(result.stderr == "The schedule fires only 1 more time after 2026-06-01T00:00:00Z.\n")
    }

    @Test func anInvalidExpressionNamesTheField() throws {
        let result = try kumo(["cron(0 25 * * ? *)"])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "error: invalid schedule 'cron(0 25 * * ? *)': invalid hours field '25': '25' is not in 0-23\n")
        let bad = try kumo(["rate(5 minutes)", "--from", "yesterday"])
        #expect(bad.status != 0 && bad.stderr.contains("expected an ISO-8601 time"), "\(bad.stderr)")
    }
}
