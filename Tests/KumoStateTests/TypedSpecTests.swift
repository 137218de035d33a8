import Foundation
import KumoManifest
import KumoPlan
import KumoState
import KumoTestSupport
import Testing

/// The typed spec is the one contract: its canonical form reads back into the same typed
/// value, a damaged stored spec is refused with its key path, and a state written by the
/// previous release reads and plans unchanged.
@Suite struct TypedSpecTests {
    /// Every resource of every example and valid fixture survives canonical → typed → canonical.
    @Test func canonicalSpecsReadBackToTheSameTypedSpec() throws {
        var paths = ["hello", "shop"].map { Support.examples + "/" + $0 }
        let valid = Support.packageRoot + "/Tests/KumoManifestTests/Fixtures/valid"
        paths += try FileManager.default.contentsOfDirectory(atPath: valid).filter { $0.hasSuffix(".yaml") }.sorted().map { valid + "/" + $0 }
        var checked = 0
        for path in paths {
            let result = ProjectLoader.load(paths: [path], options: LoadOptions(environment: ["API_KEY": "k", "STRIPE_KEY": "s"]))
            guard let project = result.project else { continue }
            let desired = DesiredState(project: project, environment: [:]) { _ in "sha256:0" }
            for resource in desired.resources {
                let decoded = try ResourceSpec(kind: resource.kind, name: resource.name, canonical: resource.canonical)
                #expect(decoded.canonical == resource.canonical, "\(path): \(resource.address)")
                #expect(Hashing.specHash(decoded.canonical) == resource.specHash)
                #expect(decoded.secretNames == resource.secretNames)
                checked += 1
            }
        }
        #expect(checked > 30)
    }

    /// Defaults live in the model once: a stored spec that omits a field reads back with the
    /// model's default, and secrets and `${port}` stay symbolic until the runtime fills them.
    @Test func storedSpecsTakeTheModelsDefaultsAndKeepReferences() throws {
        let spec = try ResourceSpec(kind: .service, name: "api", canonical: .object([
            ("command", .array([.string("serve"), .string("--port=${port}"), .string("$${port}")])),
            ("environment", .object([("TOKEN", .string("${secret:API_TOKEN}")), ("SELF", .string("${port}"))])),
        ]))
        guard case .service(let service) = spec else { Issue.record("not a service"); return }
        #expect(service.replicas == Service.defaultReplicas)
        #expect(service.stopGracePeriod == Service.defaultStopGracePeriod)
        #expect(service.resources == .default)
        #expect(spec.secretNames == ["API_TOKEN"])
        #expect(try service.command.map { try $0.resolved(secrets: [:], port: 4100) } == ["serve", "--port=4100", "${port}"])
        #expect(try service.environment["SELF"]?.resolved(secrets: [:], port: 4100) == "4100")
        #expect(throws: MissingSecret(name: "API_TOKEN")) { try service.environment["TOKEN"]?.resolved(secrets: [:], port: 4100) }
        #expect(try service.environment["TOKEN"]?.resolved(secrets: ["API_TOKEN": "t"], port: 4100) == "t")
    }

    /// A damaged stored spec is refused with every problem and its key path, never defaulted.
    @Test func aDamagedStoredSpecIsRefusedWithItsKeyPath() throws {
        #expect {
            _ = try ResourceSpec(kind: .function, name: "f", canonical: .object([
                ("runtime", .string("python3")), ("handler", .string("app.main")), ("memroy", .int(256)), ("timeout", .string("ten seconds")),
            ]))
        } throws: { error in
            let text = "\(error)"
            return text.contains("function.f") && text.contains("unknown key 'memroy'") && text.contains("did you mean 'memory'")
                && text.contains("function.f.timeout")
        }
        // Only secrets and ports are left to fill in a stored spec.
        #expect(throws: ResourceSpec.DecodingError.self) {
            _ = try ResourceSpec(kind: .function, name: "f", canonical: .object([
                ("runtime", .string("python3")), ("handler", .string("app.main")), ("environment", .object([("X", .string("${var:x}"))])),
            ]))
        }
    }

    /// A state file written by kumo 0.1.0 (the release before the typed spec: `kumo apply` of
    /// examples/shop) reads, decodes and plans as no change.
    @Test func aStateWrittenByTheLastReleasePlansAsNoChange() throws {
        let directory = try Support.temporaryDirectory()
        let state = directory + "/state.db"
        try FileManager.default.copyItem(atPath: Support.packageRoot + "/Tests/KumoStateTests/Fixtures/state/shop-kumo-0.1.0.db", toPath: state)
        let snapshot = try #require(try SQLiteStateStore.open(path: state, create: false)).snapshot()
        #expect(snapshot.resources.count == 11)
        for record in snapshot.resources.values {
            let spec = try record.decodedSpec()
            #expect(Hashing.specHash(spec.canonical) == record.specHash, "\(record.address)")
        }
        let plan = try Support.kumo(["plan", Support.examples + "/shop", "--state", state, "--detailed-exitcode", "--no-color"])
        #expect(plan.status == 0, "\(plan.stdout)\n\(plan.stderr)")
        #expect(plan.stdout.contains("No changes"))
    }
}
