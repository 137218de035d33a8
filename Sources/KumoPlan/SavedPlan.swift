import Foundation
import KumoManifest

/// A plan saved with `kumo plan --out FILE`: the plan as `kumo plan --json` prints it, plus the
/// resources it will write, bound to the state's lineage and serial and the manifest's hash.
/// It applies only to exactly the state it was made against, so it applies at most once.
public struct SavedPlan: Sendable, Equatable {
    public static let fileKind = "kumo-saved-plan"

    public var plan: Plan
    /// The desired resources in the plan's scope, as apply will record them.
    public var resources: [DesiredResource]
    /// Secret name → salted hash of the value present at plan time.
    public var secretHashes: [String: String]
    /// The state file the plan was made against (apply and show default to it).
    public var statePath: String?
    /// The project directory `code:` paths are relative to.
    public var projectDirectory: String?

    public init(plan: Plan, desired: DesiredState, statePath: String?, projectDirectory: String? = nil) {
        self.plan = plan
        self.statePath = statePath
        self.projectDirectory = projectDirectory
        let addresses = Set(plan.changes.map(\.address))
        resources = desired.resources.filter { addresses.contains($0.address) }
        var hashes: [String: String] = [:]
        for name in Set(resources.flatMap(\.secretNames)) {
            if let value = desired.secretValues[name] { hashes[name] = SecretHash(value: value).text }
        }
        secretHashes = hashes
    }

    /// Why this plan cannot be applied to `state`, or nil when it can.
    public func staleness(against state: StateSnapshot) -> String? {
        switch (plan.lineage, state.lineage) {
        case (nil, let now?):
            return "the state was empty when this plan was made, and it has since been written (lineage \(now), serial \(state.serial)); a plan applies at most once — run 'kumo plan' again"
        case (let then?, nil):
            return "this plan was made for state lineage \(then), but the state is now empty (it was removed or replaced); run 'kumo plan' again"
        case (let then?, let now?) where then != now:
            return "this plan was made for state lineage \(then), but the state has lineage \(now): it is a different state; run 'kumo plan' again"
        default:
            break
        }
        if state.serial != plan.serial {
            return "the state has moved on since this plan was made (serial \(plan.serial) then, \(state.serial) now): it was applied or changed; a plan applies at most once — run 'kumo plan' again"
        }
        return nil
    }

    // MARK: File format

    public func jsonValue(kumoVersion: String) -> ConfigValue {
        .object([
            ("kind", .string(SavedPlan.fileKind)),
            ("state_path", statePath.map { .string($0) } ?? .null),
            ("project_dir", projectDirectory.map { .string($0) } ?? .null),
            ("plan", plan.jsonValue(kumoVersion: kumoVersion)),
            ("resources", .array(resources.map { resource in
                .object([
                    ("address", .string(resource.address)), ("kind", .string(resource.kind.rawValue)), ("name", .string(resource.name)),
                    ("spec", resource.canonical), ("spec_hash", .string(resource.specHash)),
                    ("code_hash", resource.codeHash.map { .string($0) } ?? .null),
                    ("secret_names", .array(resource.secretNames.map { .string($0) })),
                    ("dependencies", .array(resource.dependencies.map { .string($0) })),
                ])
            })),
            ("secret_hashes", .object(secretHashes.keys.sorted().map { ($0, .string(secretHashes[$0]!)) })),
        ])
    }

    /// One entry of `resources`, its spec checked against its hash and read back.
    static func resource(_ item: JSONReader) throws(PlanFormatError) -> DesiredResource {
        do {
            guard let kind = ResourceKind(rawValue: try item.string("kind")) else { throw item.failure("kind", "a resource kind") }
            guard let canonical = item.value("spec") else { throw item.failure("spec", "an object") }
            let name = try item.string("name")
            if let address = try item.optional("address").map({ try $0.string() }), address != "\(kind.rawValue).\(name)" {
                throw PlanFormatError("saved plan is damaged: resource '\(address)' has kind '\(kind.rawValue)' and name '\(name)'")
            }
            let specHash = Hashing.specHash(canonical)
            guard specHash == (try item.string("spec_hash")) else {
                throw PlanFormatError("saved plan is damaged: the spec of \(kind.rawValue).\(name) does not match its hash")
            }
            let spec: ResourceSpec
            do { spec = try ResourceSpec(kind: kind, name: name, canonical: canonical) } catch { throw PlanFormatError("saved plan is damaged: \(error)") }
            return DesiredResource(spec: spec, canonical: canonical, specHash: specHash, codeHash: try item.optional("code_hash").map { try $0.string() },
                                   dependencies: try item.array("dependencies").map { try $0.string() })
        } catch let error as PlanFormatError {
            throw error
        } catch {
            throw PlanFormatError("saved plan is damaged: \(error)")
        }
    }

    public init(json text: String) throws {
        let value: ConfigValue
        do { value = try ConfigValue(json: text) } catch { throw PlanFormatError("not a saved plan: \(error)") }
        let r = JSONReader(value, path: "")
        guard (try? r.string("kind")) == SavedPlan.fileKind else {
            throw PlanFormatError("not a saved plan: expected \"kind\": \"\(SavedPlan.fileKind)\" (make one with 'kumo plan --out FILE')")
        }
        plan = try Plan(jsonValue: try r.object("plan").value)
        statePath = try r.optional("state_path").map { try $0.string() }
        projectDirectory = try r.optional("project_dir").map { try $0.string() }
        // Each spec is read back into its typed form, checking it: on every core, since a large
        // plan holds tens of thousands.
        let items = try r.array("resources")
        let batches = Parallel.ranges(items.count, minimum: 1_000) { range in
            range.map { i in Result { () throws(PlanFormatError) in try SavedPlan.resource(items[i]) } }
        }
        resources = try batches.flatMap { batch in try batch.map { try $0.get() } }
        var hashes: [String: String] = [:]
        for (name, hash) in try r.object("secret_hashes").value.objectValue ?? [] {
            guard let text = hash.stringValue, SecretHash(text: text) != nil else { throw PlanFormatError("'secret_hashes.\(name)': expected a salted hash") }
            hashes[name] = text
        }
        secretHashes = hashes
    }
}

extension ResourceRecord {
    /// The record of `desired` applied at `serial`. A secret keeps its stored salted hash when
    /// the value still matches it, so an unchanged secret does not look changed.
    public init(desired: DesiredResource, secrets: [String: String], previous: ResourceRecord?, serial: Int) {
        var hashes: [String: String] = [:]
        for name in desired.secretNames {
            if let value = secrets[name] {
                if let old = previous?.secrets[name], let hash = SecretHash(text: old), hash.matches(value) {
                    hashes[name] = old
                } else {
                    hashes[name] = SecretHash(value: value).text
                }
            } else if let old = previous?.secrets[name] {
                hashes[name] = old
            }
        }
        self.init(address: desired.address, kind: desired.kind, name: desired.name, spec: desired.canonical, specHash: desired.specHash,
                  codeHash: desired.codeHash, secrets: hashes, dependencies: desired.dependencies, status: .applied, appliedSerial: serial)
    }
}
