import Foundation
import KumoManifest
import KumoPlan
import KumoState
import KumoTestSupport
import Testing

/// The real `kumo plan` and `kumo diff` on the examples against empty, equal and edited
/// states, compared with golden files in Tests/KumoPlanTests/Fixtures/plans. KUMO_UPDATE_GOLDEN=1 rewrites them.
@Suite(.serialized) struct GoldenPlanTests {
    static let lineage = "00000000-0000-4000-8000-000000000001"

    enum StateKind: String, CaseIterable {
        case empty, equal, edited
    }

    func equalState(_ example: String) throws -> StateSnapshot {
        let desired = try Support.desired(example)
        let plan = try Planner().plan(desired: desired, current: .empty)
        return StateSnapshot.empty.applying(plan, resources: desired.resources, secrets: [:], lineage: GoldenPlanTests.lineage)
    }

    /// The equal state with the edits a user's history leaves: changed fields, a forced
    /// replacement, changed code, a resource applied elsewhere and one removed since.
    func editedState(_ example: String) throws -> StateSnapshot {
        var state = try equalState(example)
        func set(_ address: String, _ key: String, _ value: ConfigValue) {
            guard var record = state.resources[address], case .object(let pairs) = record.spec else { return }
            record.spec = .object(pairs.map { $0.0 == key ? ($0.0, value) : $0 })
            record.specHash = Hashing.specHash(record.spec)
            state.resources[address] = record
        }
        func add(_ address: String, _ spec: ConfigValue, dependencies: [String] = []) {
            let (kind, name) = ResourceKind.parse(address: address)!
            state.resources[address] = ResourceRecord(address: address, kind: kind, name: name, spec: spec, specHash: Hashing.specHash(spec),
                                                      codeHash: nil, secrets: [:], dependencies: dependencies, status: .applied, appliedSerial: 1)
        }
        switch example {
        case "shop":
            set("function.getOrder", "memory", .int(1024))
            set("service.orders", "port", .int(9000))
            set("service.api", "replicas", .int(1))
            state.resources["function.createOrder"]!.codeHash = "sha256:" + String(repeating: "0", count: 64)
            state.resources["rule.big-order"] = nil
            add("function.legacyExport", .object([("runtime", .string("python3")), ("handler", .string("export.handler")), ("memory", .int(512))]),
                dependencies: ["service.orders"])
        default:
            set("function.hello", "timeout", .string("10s"))
            add("function.goodbye", .object([("runtime", .string("python3")), ("handler", .string("app.goodbye")), ("memory", .int(128))]))
        }
        return state
    }

    func stateFile(_ example: String, _ kind: StateKind) throws -> String {
        let path = try Support.temporaryDirectory() + "/state.db"
        switch kind {
        case .empty: break
        case .equal: try Support.write(try equalState(example), to: path)
        case .edited: try Support.write(try editedState(example), to: path)
        }
        return path
    }

    func compare(_ actual: String, golden name: String) throws {
        let path = Support.golden + "/" + name
        if ProcessInfo.processInfo.environment["KUMO_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(atPath: Support.golden, withIntermediateDirectories: true)
            try actual.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        if actual != expected {
            let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
            let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
            Issue.record("\(name) differs at line \(line + 1):\n  expected: \(line < e.count ? String(e[line]) : "<end>")\n  actual:   \(line < a.count ? String(a[line]) : "<end>")\n(KUMO_UPDATE_GOLDEN=1 rewrites the golden files)")
        }
    }

    @Test(arguments: ["hello", "shop"])
    func plansMatchTheGoldenFiles(example: String) throws {
        for kind in StateKind.allCases {
            let state = try stateFile(example, kind)
            let project = Support.examples + "/" + example
            let text = try Support.kumo(["plan", project, "--state", state, "--detailed-exitcode"])
            #expect(text.status == (kind == .equal ? 0 : 2), "\(example)/\(kind): \(text.stderr)")
            try compare(text.stdout, golden: "\(example)-\(kind).txt")
            let json = try Support.kumo(["plan", project, "--state", state, "--json"])
            #expect(json.status == 0)
            try compare(json.stdout, golden: "\(example)-\(kind).json")
            // The JSON reads back into the same plan.
            let reparsed = try Plan(jsonValue: try ConfigValue(json: json.stdout))
            #expect(reparsed.jsonValue(kumoVersion: "0.1.0").json() + "\n" == json.stdout)
            let markdown = try Support.kumo(["diff", project, "--state", state, "--format", "markdown"])
            #expect(markdown.status == (kind == .equal ? 0 : 2))
            try compare(markdown.stdout, golden: "\(example)-\(kind).md")
        }
    }

    @Test func savedPlanAppliesOnlyToTheStateItWasMadeAgainst() throws {
        let dir = try Support.temporaryDirectory()
        let state = dir + "/state.db"
        let planFile = dir + "/hello.plan"
        let project = Support.examples + "/hello"
        let saved = try Support.kumo(["plan", project, "--state", state, "--out", planFile])
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(!FileManager.default.fileExists(atPath: state), "planning does not create the state")
        let fresh = try Support.kumo(["show", planFile])
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(fresh.stdout.contains("Plan: 1 to add"))
        #expect(fresh.stdout.contains("still matches the state"))

        // The state was empty at plan time; any write since makes the plan stale.
        try Support.write(try equalState("hello"), to: state)
        let stale = try Support.kumo(["show", planFile])
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("the state was empty when this plan was made"))

        // A plan made against serial N is refused once the serial moves on.
        let second = dir + "/second.plan"
        #expect(try Support.kumo(["plan", project, "--state", state, "--out", second]).status == 0)
        #expect(try Support.kumo(["show", second, "--state", state]).status == 0)
        var edited = try SQLiteStateStore.open(path: state, create: false)!.snapshot()
        edited.resources["function.hello"]!.status = .tainted
        try Support.write(edited, to: state)
        let moved = try Support.kumo(["show", second, "--state", state, "--json"])
        #expect(moved.status == 1)
        #expect(moved.stderr.contains("the state has moved on since this plan was made"))

        // A damaged plan file is refused with a reason.
        try "{\"kind\": \"kumo-saved-plan\"}".write(toFile: dir + "/bad.plan", atomically: true, encoding: .utf8)
        let bad = try Support.kumo(["show", dir + "/bad.plan"])
        #expect(bad.status == 1 && bad.stderr.contains("bad.plan"))
    }

    @Test func targetAndParallelismReachThePlan() throws {
        let project = Support.examples + "/shop"
        let state = try stateFile("shop", .empty)
        let targeted = try Support.kumo(["plan", project, "--state", state, "--target", "scaling.api-load", "--json"])
        #expect(targeted.status == 0, "\(targeted.stderr)")
        let plan = try Plan(jsonValue: try ConfigValue(json: targeted.stdout))
        #expect(plan.changes.map(\.address) == ["scaling.api-load", "service.api", "service.orders"])
        #expect(plan.targets == ["scaling.api-load"])
        let typo = try Support.kumo(["plan", project, "--state", state, "--target", "service.apii"])
        #expect(typo.status == 1 && typo.stderr.contains("did you mean 'service.api'"))
        let serial = try Support.kumo(["plan", project, "--state", state, "--parallelism", "1", "--json"])
        let one = try Plan(jsonValue: try ConfigValue(json: serial.stdout))
        #expect(one.estimate?.parallelism == 1)
        #expect((one.estimate?.seconds ?? 0) > (plan.estimate?.seconds ?? 0))
    }

    @Test func colourOnlyWhenAskedForByATerminal() throws {
        let project = Support.examples + "/hello"
        let state = try stateFile("hello", .empty)
        let plain = try Support.kumo(["plan", project, "--state", state])
        #expect(!plain.stdout.contains("\u{1B}["))
        let coloured = try Support.kumoOnTerminal(["plan", project, "--state", state])
        #expect(coloured.contains("\u{1B}[32m+\u{1B}[0m function.hello"))
        let flag = try Support.kumoOnTerminal(["plan", project, "--state", state, "--no-color"])
        #expect(flag.contains("+ function.hello") && !flag.contains("\u{1B}["))
        let environment = try Support.kumoOnTerminal(["diff", project, "--state", state], environment: ["NO_COLOR": "1"])
        #expect(environment.contains("+ function.hello") && !environment.contains("\u{1B}["))
    }
}
