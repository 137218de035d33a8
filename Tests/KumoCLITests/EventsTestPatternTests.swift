import Foundation
import KumoTestSupport
import Testing

/// `kumo events test-pattern`: true/false with exit 0, `--explain`, `--json`, and exit 1 for an
/// invalid pattern (naming the key) or event.
@Suite struct EventsTestPatternTests {
    func kumo(_ arguments: [String]) throws -> KumoTestSupport.Output {
        try KumoTestSupport.run(["events", "test-pattern"] + arguments)
    }

    static let pattern = #"{"source":["shop.orders"],"detail":{"total":[{"numeric":[">",100]}]}}"#

    @Test func printsTrueOrFalseAndExitsZero() throws {
        let yes = try kumo(["--pattern", Self.pattern, "--event", #"{"source":"shop.orders","detail":{"total":250}}"#])
        #expect(yes.status == 0 && yes.stdout == "true\n", "\(yes.stderr)")
        let no = try kumo(["--pattern", Self.pattern, "--event", #"{"source":"shop.orders","detail":{"total":50}}"#, "--explain"])
        #expect(no.status == 0, "\(no.stderr)")
        #expect(no.stdout == "false\n" + #"detail.total: the pattern wants [{"numeric":[">",100]}], the event has 50"# + "\n")
    }

    @Test func jsonOutputCarriesTheMismatch() throws {
        let no = try kumo(["--pattern", Self.pattern, "--event", #"{"source":"shop.orders"}"#, "--json"])
        #expect(no.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(no.stdout.utf8)) as? [String: Any])
        #expect(object["matches"] as? Bool == false)
        let mismatch = try #require(object["mismatch"] as? [String: Any])
        #expect(mismatch["path"] as? String == "detail.total")
        #expect(mismatch["expected"] as? String == #"[{"numeric":[">",100]}]"#)
        #expect(mismatch["actual"] is NSNull)
        let yes = try kumo(["--pattern", Self.pattern, "--event", #"{"source":"shop.orders","detail":{"total":101}}"#, "--json"])
        #expect(yes.stdout == #"{"matches":true,"mismatch":null}"# + "\n")
    }

    @Test func readsFilesWithAt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kumo-test-pattern-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("event.json")
        try Data(#"{"source":"shop.orders","detail":{"total":[5, 500]}}"#.utf8).write(to: file)
        let result = try kumo(["--pattern", Self.pattern, "--event", "@" + file.path])
        #expect(result.status == 0 && result.stdout == "true\n", "\(result.stderr)")
    }

    @Test func invalidInputExitsOne() throws {
        let badPattern = try kumo(["--pattern", #"{"detail":{"total":[{"numeric":[">","100"]}]}}"#, "--event", "{}"])
        #expect(badPattern.status == 1)
        #expect(badPattern.stderr.contains("detail.total[0].numeric[1]"), "\(badPattern.stderr)")
        let typo = try kumo(["--pattern", #"{"source":[{"prefx":"shop."}]}"#, "--event", "{}"])
        #expect(typo.status == 1 && typo.stderr.contains("did you mean 'prefix'?"), "\(typo.stderr)")
        let badEvent = try kumo(["--pattern", Self.pattern, "--event", #"{"source": }"#])
        #expect(badEvent.status == 1 && badEvent.stderr.contains("the event is not valid JSON"), "\(badEvent.stderr)")
        #expect(badEvent.stdout.isEmpty)
    }
}
