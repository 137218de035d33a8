import Foundation
import KumoManifest
import KumoPlan
import KumoTestSupport
import Testing

@Suite struct PlannerTests {
    let planner = Planner()

    func applied(_ desired: DesiredState) throws -> StateSnapshot {
        let plan = try planner.plan(desired: desired, current: .empty)
        return StateSnapshot.empty.applying(plan, resources: desired.resources, secrets: desired.secretValues, lineage: "lineage-1")
    }

    func edit(_ snapshot: inout StateSnapshot, _ address: String, _ body: (inout ConfigValue) -> Void) {
        var record = snapshot.resources[address]!
        body(&record.spec)
        record.specHash = Hashing.specHash(record.spec)
        snapshot.resources[address] = record
    }

    @Test func emptyStateCreatesEverythingInDependencyWaves() throws {
        let desired = try Support.desired("shop")
        let plan = try planner.plan(desired: desired, current: .empty)
        #expect(plan.count(.create) == desired.resources.count)
        #expect(plan.summary == "Plan: 11 to add, 0 to change, 0 to replace, 0 to destroy.")
        func wave(_ address: String) -> Int { plan.changes.first { $0.address == address }!.wave }
        // orders before api (dependsOn) and before every function that calls it (ORDERS_URL).
        #expect(wave("service.orders") < wave("service.api"))
        #expect(wave("service.orders") < wave("function.createOrder"))
        #expect(wave("service.api") < wave("scaling.api-load"))
        #expect(wave("function.notifyCustomer") < wave("rule.big-order"))
        #expect(wave("service.api") < wave("rule.big-order"))
        for change in plan.changes {
            for dependency in change.dependencies { #expect(wave(dependency) < change.wave, "\(change.address) after \(dependency)") }
        }
    }

    @Test func equalStateHasNoChanges() throws {
        let desired = try Support.desired("shop")
        let plan = try planner.plan(desired: desired, current: try applied(desired))
        #expect(!plan.hasChanges)
        #expect(plan.waves.isEmpty)
        #expect(plan.estimate?.seconds == 0)
        #expect(plan.summary.hasPrefix("No changes."))
    }

    @Test func fieldChangesUpdateInPlaceAndForcedFieldsReplace() throws {
        let desired = try Support.desired("shop")
        var state = try applied(desired)
        edit(&state, "function.getOrder") { spec in
            guard case .object(var pairs) = spec else { return }
            pairs = pairs.map { $0.0 == "memory" ? ($0.0, .int(1024)) : $0 }
            spec = .object(pairs)
        }
        edit(&state, "service.orders") { spec in
            guard case .object(let pairs) = spec else { return }
            spec = .object(pairs.map { $0.0 == "port" ? ($0.0, .int(9000)) : $0 })
        }
        edit(&state, "function.notifyCustomer") { spec in
            guard case .object(let pairs) = spec else { return }
            spec = .object(pairs.map { $0.0 == "runtime" ? ($0.0, .string("node")) : $0 })
        }
        let plan = try planner.plan(desired: desired, current: state)
        let getOrder = plan.changes.first { $0.address == "function.getOrder" }!
        #expect(getOrder.action == .update)
        #expect(getOrder.fields == [FieldChange(path: "memory", before: .int(1024), after: .int(256))])
        #expect(getOrder.reasons == ["'memory' changed"])
        let orders = plan.changes.first { $0.address == "service.orders" }!
        #expect(orders.action == .replace)
        #expect(orders.replacementFields == ["port"])
        #expect(orders.reasons == ["'port' forces replacement"])
        #expect(plan.changes.first { $0.address == "function.notifyCustomer" }!.replacementFields == ["runtime"])
        #expect(plan.summary == "Plan: 0 to add, 1 to change, 2 to replace, 0 to destroy.")
    }

    @Test func deletesComeFirstAndDependentsBeforeDependencies() throws {
        let desired = try Support.desired("shop")
        var state = try applied(desired)
        // Resources that exist only in the state: a service, a function calling it and a rule
        // targeting that function.
        for (address, deps) in [("service.legacy", [String]()), ("function.old", ["service.legacy"]), ("rule.old", ["function.old"])] {
            let (kind, name) = ResourceKind.parse(address: address)!
            let spec: ConfigValue = .object([("note", .string(address))])
            state.resources[address] = ResourceRecord(address: address, kind: kind, name: name, spec: spec, specHash: Hashing.specHash(spec),
                                                      codeHash: nil, secrets: [:], dependencies: deps, status: .applied, appliedSerial: 1)
        }
        state.resources["function.getOrder"] = nil
        let plan = try planner.plan(desired: desired, current: state)
        #expect(plan.waves == [["rule.old"], ["function.old"], ["service.legacy"], ["function.getOrder"]])
        #expect(plan.count(.delete) == 3)
    }

    @Test func codeChangesShowByHashAndTaintedResourcesAreReplaced() throws {
        let desired = try Support.desired("shop")
        var state = try applied(desired)
        state.resources["function.createOrder"]!.codeHash = "sha256:" + String(repeating: "0", count: 64)
        state.resources["service.api"]!.status = .tainted
        let plan = try planner.plan(desired: desired, current: state)
        let create = plan.changes.first { $0.address == "function.createOrder" }!
        #expect(create.action == .update)
        #expect(create.fields.map(\.path) == ["code (hash)"])
        let api = plan.changes.first { $0.address == "service.api" }!
        #expect(api.action == .replace)
        #expect(api.reasons.first?.hasPrefix("tainted") == true)
        let text = PlanRenderer(color: false).text(plan)
        #expect(text.contains("code (hash) = sha256:000000000000 → sha256:"))
    }

    @Test func secretsAreComparedByHashAndNeverShown() throws {
        let source = """
            version: 1
            project: secretive
            functions:
              f:
                runtime: exec
                command: [/bin/cat]
                environment:
                  TOKEN: ${secret:API_TOKEN}
            """
        let project = try #require(ProjectLoader.load(sources: [("kumo.yaml", Array(source.utf8))], root: "/tmp").project)
        let first = DesiredState(project: project, environment: ["API_TOKEN": "hunter2"]) { _ in "sha256:x" }
        let state = try applied(first)
        let stored = try #require(state.resources["function.f"]?.secrets["API_TOKEN"])
        #expect(!stored.contains("hunter2"))
        #expect(SecretHash(text: stored)?.matches("hunter2") == true)

        // Same value: no change. Another value: an update whose field is sensitive.
        #expect(!(try planner.plan(desired: first, current: state)).hasChanges)
        let rotated = DesiredState(project: project, environment: ["API_TOKEN": "correct horse"]) { _ in "sha256:x" }
        let plan = try planner.plan(desired: rotated, current: state)
        let change = try #require(plan.changes.first)
        #expect(change.action == .update)
        #expect(change.fields == [FieldChange(path: "secret:API_TOKEN", before: .string("(sensitive)"), after: .string("(sensitive)"), sensitive: true)])
        let outputs = [PlanRenderer(color: false).text(plan), PlanRenderer(color: false).markdown(plan), plan.jsonValue(kumoVersion: "t").json(),
                       SavedPlan(plan: plan, desired: rotated, statePath: nil).jsonValue(kumoVersion: "t").json()]
        for output in outputs {
            #expect(!output.contains("correct horse") && !output.contains("hunter2"))
        }
        // Unset: a warning, and the change cannot be seen.
        let unset = DesiredState(project: project, environment: [:]) { _ in "sha256:x" }
        let blind = try planner.plan(desired: unset, current: state)
        #expect(!blind.hasChanges)
        #expect(blind.warnings.first?.contains("API_TOKEN") == true)
    }

    @Test func targetsPlanTheResourceAndItsDependencies() throws {
        let desired = try Support.desired("shop")
        let plan = try Planner(options: .init(targets: ["rule.big-order"])).plan(desired: desired, current: .empty)
        #expect(plan.changes.map(\.address) == ["function.notifyCustomer", "rule.big-order", "service.api", "service.orders"])
        #expect(throws: Planner.Failure.unknownTarget("rule.big-ordr", suggestion: "rule.big-order")) {
            try Planner(options: .init(targets: ["rule.big-ordr"])).plan(desired: desired, current: .empty)
        }
    }

    /// A target that is only in the state is deleted with everything the state says depends on
    /// it (transitively), and nothing else.
    @Test func targetingAResourceOnlyInTheStateTakesItsDependentsAlong() throws {
        let desired = try Support.desired("shop")
        let state = try applied(desired)
        let nothing = DesiredState(project: desired.project, resources: [])
        let plan = try Planner(options: .init(targets: ["service.orders"])).plan(desired: nothing, current: state)
        #expect(plan.changes.allSatisfy { $0.action == .delete })
        let deleted = Set(plan.changes.map(\.address))
        #expect(deleted.isSuperset(of: ["service.orders", "service.api", "function.createOrder", "scaling.api-load"]))
        for address in deleted where address != "service.orders" {
            #expect(!(state.resources[address]?.dependencies.filter(deleted.contains).isEmpty ?? true), "\(address) depends on something deleted")
        }
        for (address, record) in state.resources where !deleted.contains(address) {
            #expect(record.dependencies.filter(deleted.contains).isEmpty, "\(address) depends on a deleted resource but stays")
        }
        #expect(deleted.count < state.resources.count)
    }

    /// The rollout estimate follows the manifest's `estimates:` (the priced fixture's
    /// coefficients are none of the built-ins), wave by wave as README's formula gives them by
    /// hand; a manifest without `estimates:` gets the built-in coefficients.
    @Test func rolloutFollowsTheManifestsEstimatesPerWave() throws {
        let desired = try Support.desired(at: "Tests/KumoPlanTests/Fixtures/priced")
        let plan = try Planner(options: .init(parallelism: 2)).plan(desired: desired, current: .empty)
        let estimate = try #require(plan.estimate)
        #expect(plan.waves == [["function.a", "function.b", "function.c", "service.db"], ["service.web"], ["scaling.web-load"]])
        #expect(estimate.waves.map { [$0.functions, $0.services, $0.rules] } == [[3, 1, 0], [0, 1, 0], [0, 0, 1]])
        #expect(estimate.waves.map { [$0.workersStarted, $0.replicasStarted] } == [[3, 1], [0, 3], [0, 0]])
        // p = 2, so q = min(2, 3 or 4) = 2. Wave 1: max(T = 1 s + 30 ms·3 + 700 ms·max(1, 3/2) = 2.14 s,
        // S = 500 ms + 60 ms + 250 ms·max(1, 1/2) = 0.81 s). Wave 2: web's 3 replicas one at a
        // time: S = 500 + 60 + 250·3 ms = 1.31 s. Wave 3: E = 300 ms + 40 ms·1 = 0.34 s.
        let expected = [2.14, 1.31, 0.34]
        #expect(estimate.waves.count == expected.count)
        for (wave, seconds) in zip(estimate.waves, expected) {
            #expect(abs(wave.seconds - seconds) < 1e-9, "wave \(wave.index): \(wave.seconds) s, expected \(seconds) s")
        }
        #expect(abs(estimate.seconds - 3.79) < 1e-9, "\(estimate.seconds) s")
        let sources = [estimate.coefficients.functions.source, estimate.coefficients.services.source, estimate.coefficients.rules.source]
        #expect(sources == [.manifest, .manifest, .manifest])

        let hello = try Support.desired("hello")
        let builtIn = try #require(try planner.plan(desired: hello, current: .empty).estimate)
        #expect(builtIn.coefficients.functions.source == .builtIn)
        let line = Estimates.builtIn.functions
        #expect(abs(builtIn.seconds - (line.initialSeconds + line.registerSeconds)) < 1e-9, "one function without warm workers: init + register, got \(builtIn.seconds) s")
    }

    /// Monthly cost at the manifest's `pricing:` (unit prices unlike any region's table), from
    /// its `usage:` and the services' replicas, worked by hand from README's formulas.
    @Test func costFollowsTheManifestsPricesUsageAndReplicas() throws {
        let desired = try Support.desired(at: "Tests/KumoPlanTests/Fixtures/priced")
        let plan = try planner.plan(desired: desired, current: .empty)
        func after(_ address: String) -> Double? { plan.changes.first { $0.address == address }?.cost?.after }
        // a: 1,000,000 × 0.25 GB × 0.2 s × $0.00005 + 1 × $0.60 = 2.50 + 0.60
        #expect(abs((after("function.a") ?? -1) - 3.10) < 1e-9, "\(String(describing: after("function.a")))")
        // b: 3,000,000 × 0.5 GB × 0.05 s × $0.00005 + 3 × $0.60 = 3.75 + 1.80
        #expect(abs((after("function.b") ?? -1) - 5.55) < 1e-9, "\(String(describing: after("function.b")))")
        // db: 1 × (0.5 vCPU × $0.10 + 1 GB × $0.02) × 730 h
        #expect(abs((after("service.db") ?? -1) - 51.10) < 1e-9, "\(String(describing: after("service.db")))")
        // web: 3 × (0.25 vCPU (the default) × $0.10 + 0.5 GB × $0.02) × 730 h
        #expect(abs((after("service.web") ?? -1) - 76.65) < 1e-9, "\(String(describing: after("service.web")))")
        // c has no usage: no price, and the note quotes the manifest's unit prices.
        let c = plan.changes.first { $0.address == "function.c" }?.cost
        #expect(c?.after == nil)
        #expect(c?.note == "cost depends on usage: $0.00005 per GB-second, $0.6 per 1M requests", "\(c?.note ?? "nil")")
        let total = try #require(plan.cost)
        #expect(abs(total.after - 136.40) < 1e-9, "\(total.after)")
        #expect(total.before == 0 && total.unknownAfter == 1)
    }

    /// Property: whatever the state, applying the plan to it gives a state with no changes.
    @Test func applyingThePlanConverges() throws {
        let base = try Support.desired("shop", environment: ["UNUSED": "x"])
        var generator = SeededGenerator(seed: 2026)
        for round in 0..<300 {
            var resources = base.resources.filter { _ in Int.random(in: 0..<5, using: &generator) > 0 }
            for i in resources.indices where Int.random(in: 0..<3, using: &generator) == 0 {
                resources[i] = DesiredResource(spec: mutate(resources[i].spec, &generator), codeHash: resources[i].codeHash,
                                               dependencies: resources[i].dependencies.filter { d in resources.contains { $0.address == d } })
            }
            let desired = DesiredState(project: "shop", resources: resources)
            var state = try applied(DesiredState(project: "shop", resources: base.resources.filter { _ in Bool.random(using: &generator) }))
            for address in state.resources.keys where Int.random(in: 0..<4, using: &generator) == 0 {
                state.resources[address]!.status = .tainted
                state.resources[address]!.spec = mutate(state.resources[address]!.spec, &generator)
                state.resources[address]!.specHash = Hashing.specHash(state.resources[address]!.spec)
            }
            let plan = try planner.plan(desired: desired, current: state)
            let next = state.applying(plan, resources: desired.resources, secrets: [:], lineage: "l")
            let again = try planner.plan(desired: desired, current: next)
            #expect(!again.hasChanges, "round \(round): \(again.actionable.map { "\($0.address) \($0.action) \($0.reasons)" })")
            #expect(Set(next.resources.keys) == Set(desired.resources.map(\.address)))
        }
    }

    /// A valid change of a typed spec: the manifest can only ask for valid ones.
    func mutate(_ spec: ResourceSpec, _ generator: inout SeededGenerator) -> ResourceSpec {
        let n = Int.random(in: 1..<100, using: &generator)
        switch spec {
        case .function(var f):
            if Bool.random(using: &generator) { f.memory = 128 + n } else { f.description = "v\(n)" }
            return .function(f)
        case .service(var s):
            switch n % 3 {
            case 0: s.replicas = n % 7
            case 1: s.port = 9000 + n
            default: s.description = "v\(n)"
            }
            return .service(s)
        case .scaling(var p):
            p.maxReplicas = p.minReplicas + n
            return .scaling(p)
        case .rule(var r):
            r.enabled.toggle()
            return .rule(r)
        }
    }

    func mutate(_ value: ConfigValue, _ generator: inout SeededGenerator) -> ConfigValue {
        guard case .object(var pairs) = value, !pairs.isEmpty else { return value }
        let i = Int.random(in: 0..<pairs.count, using: &generator)
        switch Int.random(in: 0..<3, using: &generator) {
        case 0: pairs[i].1 = .int(Int.random(in: 0..<5000, using: &generator))
        case 1: pairs.remove(at: i)
        default: pairs.append(("extra\(Int.random(in: 0..<3, using: &generator))", .string("x")))
        }
        var seen = Set<String>()
        return .object(pairs.filter { seen.insert($0.0).inserted })
    }
}

/// A small deterministic generator (SplitMix64), so property tests repeat exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct CanonicalJSONTests {
    /// The byte writer behind spec hashes escapes exactly as the string writer does, and the
    /// parser reads back what it wrote.
    @Test func bytesMatchTheStringWriterAndRoundTrip() throws {
        let samples = ["plain", "quote \" and \\ backslash", "tab\tnew\nline\rcr", "\u{01}\u{1F}\u{7F}", "C1 \u{80}\u{85}\u{9F} end",
                       "é ü ß", "line\u{2028}sep\u{2029}para", "€ \u{2027}\u{202A}", "emoji 🍵", "", "${secret:X} $${literal}"]
        for sample in samples {
            var expected = ""
            ConfigValue.writeJSONString(sample, into: &expected)
            #expect(ConfigValue.string(sample).compactJSON() == expected, "\(sample.debugDescription)")
            #expect(try ConfigValue(json: expected) == .string(sample))
        }
        let nested: ConfigValue = .object([("b", .array([.int(1), .double(0.5), .null, .bool(true)])), ("a", .object([("z", .string("x")), ("y", .double(2))]))])
        #expect(nested.compactJSON(sortedKeys: true) == "{\"a\":{\"y\":2,\"z\":\"x\"},\"b\":[1,0.5,null,true]}")
        #expect(try ConfigValue(json: nested.compactJSON()) == nested)
    }
}

