import Foundation
import KumoState
import KumoTestSupport
import Testing

/// `kumo state` on files: a state from an older schema, and `state push` across lineages and
/// from standard input.
@Suite struct StateCommandTests {
    func kumo(_ arguments: [String], input: String? = nil) throws -> KumoTestSupport.Output {
        try KumoTestSupport.run(arguments, input: input)
    }

    func document(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// A state written with schema 1 is migrated when kumo opens it: lineage, serial, resources,
    /// journal and timings are kept, schema 2's and 3's columns and tables are added and used, and it
    /// plans as no change. A state from a newer kumo is refused, naming both versions.
    @Test func aStateFromSchemaOneIsMigratedAndKeepsEverything() throws {
        try KumoTestSupport.withTemporaryDirectory { dir in
            let state = dir + "/state.db"
            try FileManager.default.copyItem(atPath: KumoTestSupport.fixtures() + "/state/shop-schema-1.db", toPath: state)
            #expect(try Support.sqlite(state, "SELECT group_concat(version) FROM schema_info") == "1")
            #expect(try Support.sqlite(state, "SELECT count(*) FROM pragma_table_info('timings') WHERE name = 'started_ms'") == "0")

            let pulled = try kumo(["state", "pull", "--state", state])
            #expect(pulled.status == 0, "\(pulled.stderr)")
            let document = try document(pulled.stdout)
            #expect(document["lineage"] as? String == "b4652ca1-8645-4982-b551-c413328730b8")
            #expect(document["serial"] as? Int == 13)
            #expect((document["resources"] as? [Any])?.count == 11)
            #expect((document["journal"] as? [[String: Any]])?.map { $0["outcome"] as? String } == ["succeeded"])
            #expect((document["timings"] as? [Any])?.count == 11)

            #expect(try Support.sqlite(state, "SELECT group_concat(version) FROM (SELECT version FROM schema_info ORDER BY version)") == "1,2,3")
            #expect(try Support.sqlite(state, "SELECT group_concat(identifier) FROM (SELECT identifier FROM grdb_migrations ORDER BY identifier)") == "v1,v2,v3")
            #expect(try Support.sqlite(state, "SELECT count(*) FROM timings WHERE started_ms = 0") == "11")

            let plan = try kumo(["plan", Support.examples + "/shop", "--state", state, "--detailed-exitcode", "--no-color"])
            #expect(plan.status == 0 && plan.stdout.contains("No changes"), "\(plan.stdout)\n\(plan.stderr)")
            // Timings from before schema 3 did not count the processes each action started:
            // `kumo calibrate` leaves them out instead of fitting them as if none were.
            #expect(try Support.sqlite(state, "SELECT count(*) FROM timings WHERE counted = 0") == "11")
            let calibrate = try kumo(["calibrate", "--state", state, "-C", dir])
            #expect(calibrate.status == 0, "\(calibrate.stdout)\n\(calibrate.stderr)")
            #expect(calibrate.stdout.contains("functions not enough data (0 samples;"), "\(calibrate.stdout)")

            try Support.sqlite(state, "INSERT INTO schema_info VALUES (4, '2030-01-01T00:00:00Z')")
            let newer = try kumo(["state", "list", "--state", state])
            #expect(newer.status == 1)
            #expect(newer.stderr == "error: the state at '\(state)' has schema version 4, newer than this kumo understands (3); upgrade kumo\n", "\(newer.stderr)")
        }
    }

    /// `state push` refuses a document of another lineage, and changes nothing; `--force`
    /// replaces the state with it; the serial still only grows, so a plan saved before is stale.
    @Test func pushRefusesAnotherLineageUnlessForced() throws {
        try KumoTestSupport.withTemporaryDirectory { dir in
            let shop = dir + "/shop.db", hello = dir + "/hello.db"
            try Support.apply(project: Support.examples + "/shop", to: shop)
            try Support.apply(project: Support.examples + "/hello", to: hello)
            // A few more writes, so the shop's serial is ahead of the hello document's.
            for _ in 0..<3 { try Support.write(try #require(try SQLiteStateStore.open(path: shop, create: false)).snapshot(), to: shop) }
            let before = try kumo(["state", "pull", "--state", shop]).stdout
            let incoming = try kumo(["state", "pull", "--state", hello]).stdout
            try incoming.write(toFile: dir + "/hello.json", atomically: true, encoding: .utf8)
            #expect(try kumo(["plan", Support.examples + "/shop", "--state", shop, "--out", dir + "/shop.plan"]).status == 0)
            let shopSerial = try document(before)["serial"] as? Int ?? 0
            let helloLineage = try document(incoming)["lineage"] as? String
            #expect(shopSerial > (try document(incoming)["serial"] as? Int ?? 0))

            let refused = try kumo(["state", "push", dir + "/hello.json", "--state", shop])
            #expect(refused.status == 1)
            #expect(refused.stderr.hasPrefix("error: refusing to push: the document has lineage \(helloLineage ?? "?"), but the state has lineage "), "\(refused.stderr)")
            #expect(refused.stderr.contains("(use --force to replace it anyway)") && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
            #expect(try kumo(["state", "pull", "--state", shop]).stdout == before, "a refused push writes nothing")

            let forced = try kumo(["state", "push", dir + "/hello.json", "--state", shop, "--force"])
            #expect(forced.status == 0, "\(forced.stderr)")
            let now = try document(try kumo(["state", "pull", "--state", shop]).stdout)
            #expect(now["lineage"] as? String == helloLineage)
            #expect((now["resources"] as? [[String: Any]])?.compactMap { $0["address"] as? String } == ["function.hello"])
            #expect(now["serial"] as? Int ?? 0 > shopSerial, "every write increases the serial")
            let stale = try kumo(["show", dir + "/shop.plan", "--state", shop])
            #expect(stale.status == 1, "\(stale.stdout)")
        }
    }

    /// `kumo state push -` reads the document from standard input.
    @Test func pushReadsStandardInput() throws {
        try KumoTestSupport.withTemporaryDirectory { dir in
            let state = dir + "/state.db"
            try Support.apply(project: Support.examples + "/shop", to: state)
            var text = try kumo(["state", "pull", "--state", state]).stdout
            let pulled = try document(text)
            let serial = try #require(pulled["serial"] as? Int)
            // The same document with a newer serial and one resource fewer (the rule, which
            // nothing depends on).
            text = text.replacing("\"serial\": \(serial),", with: "\"serial\": \(serial + 1),")
            var edited = try document(text)
            edited["resources"] = (edited["resources"] as? [[String: Any]])?.filter { $0["address"] as? String != "rule.big-order" }
            let input = String(decoding: try JSONSerialization.data(withJSONObject: edited), as: UTF8.self)

            let pushed = try kumo(["state", "push", "-", "--state", state], input: input)
            #expect(pushed.status == 0, "\(pushed.stderr)")
            #expect(pushed.stdout.hasPrefix("Pushed \((pulled["resources"] as? [Any] ?? []).count - 1) resources to \(state) (serial \(serial + 1))"), "\(pushed.stdout)")
            let list = try kumo(["state", "list", "--state", state]).stdout
            #expect(!list.contains("rule.big-order") && list.contains("function.getOrder"), "\(list)")

            let garbage = try kumo(["state", "push", "-", "--state", state], input: "not json")
            #expect(garbage.status == 1 && garbage.stderr.hasPrefix("error: -: "), "\(garbage.stderr)")
            let empty = try kumo(["state", "push", "-", "--state", state], input: "")
            #expect(empty.status == 1 && empty.stderr.hasPrefix("error: -: "), "\(empty.stderr)")
        }
    }
}
