import KumoManifest

/// The documented, versioned JSON form of a plan (`kumo plan --json`, `kumo show --json`),
/// and the saved plan file (`kumo plan --out`) that adds what apply needs.
///
/// Secrets never appear: a value that contains a `${secret:…}` reference is written as
/// `"(sensitive)"` in `before`, `after` and `changed_fields`.
///
/// Written by hand (`ConfigValue`), not `Codable`: the format's documented key order (and the
/// golden files that pin it) cannot be kept by `JSONEncoder`, which writes keys sorted or in no
/// set order, and the same change measured on the state document (`StateDocument`) made
/// encoding and decoding 1.7–2.9× slower.
extension Plan {
    public func jsonValue(kumoVersion: String) -> ConfigValue {
        var top: [(String, ConfigValue)] = [
            ("format_version", .string(Plan.formatVersion)),
            ("kumo_version", .string(kumoVersion)),
            ("project", .string(project)),
            ("stage", .string(stage)),
            ("state", .object([("lineage", lineage.map { .string($0) } ?? .null), ("serial", .int(serial))])),
            ("manifest_hash", .string(manifestHash)),
            ("targets", .array(targets.map { .string($0) })),
            ("resource_changes", .array(changes.map(\.jsonValue))),
            ("waves", .array(waves.map { .array($0.map { .string($0) }) })),
        ]
        if let estimate { top.append(("estimate", estimate.jsonValue)) }
        if let cost { top.append(("cost", cost.jsonValue)) }
        top.append(("totals", .object([
            ("add", .int(count(.create))), ("change", .int(count(.update))), ("replace", .int(count(.replace))),
            ("destroy", .int(count(.delete))), ("no_op", .int(count(.noop))),
        ])))
        top.append(("warnings", .array(warnings.map { .string($0) })))
        return .object(top)
    }

    public init(jsonValue value: ConfigValue) throws {
        let r = JSONReader(value, path: "")
        let version = try r.string("format_version")
        guard version.split(separator: ".").first == Plan.formatVersion.split(separator: ".").first else {
            throw PlanFormatError("unsupported plan format_version \(version) (this kumo reads \(Plan.formatVersion))")
        }
        let state = try r.object("state")
        self.init(
            project: try r.string("project"), stage: try r.string("stage"),
            changes: try r.array("resource_changes").map { try ResourceChange(json: $0.value) },
            waves: try r.array("waves").map { try $0.array().map { try $0.string() } },
            estimate: try r.optional("estimate").map { try RolloutEstimate(json: $0) },
            cost: try r.optional("cost").map { try CostSummary(json: $0) },
            lineage: try state.optional("lineage").map { try $0.string() }, serial: try state.int("serial"),
            manifestHash: try r.string("manifest_hash"),
            targets: try r.array("targets").map { try $0.string() },
            warnings: try r.array("warnings").map { try $0.string() })
    }
}

public struct PlanFormatError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension ResourceChange {
    var jsonValue: ConfigValue {
        let actions: [String] = switch action {
        case .replace: ["delete", "create"]
        default: [action.rawValue]
        }
        var f: [(String, ConfigValue)] = [
            ("address", .string(address)), ("kind", .string(kind.rawValue)), ("name", .string(name)),
            ("action", .string(action.rawValue)), ("actions", .array(actions.map { .string($0) })),
            ("reasons", .array(reasons.map { .string($0) })), ("wave", .int(wave)),
            ("dependencies", .array(dependencies.map { .string($0) })),
            ("before", before.map(masked) ?? .null), ("after", after.map(masked) ?? .null),
            ("code_hash", .object([("before", codeHashBefore.map { .string($0) } ?? .null), ("after", codeHashAfter.map { .string($0) } ?? .null)])),
            ("changed_fields", .array(fields.map { field in
                .object([
                    ("path", .string(field.path)),
                    ("before", field.before.map { field.sensitive ? .string("(sensitive)") : $0 } ?? .null),
                    ("after", field.after.map { field.sensitive ? .string("(sensitive)") : $0 } ?? .null),
                    ("sensitive", .bool(field.sensitive)),
                    ("forces_replacement", .bool(field.forcesReplacement)),
                ])
            })),
            ("replace_paths", .array(replacementFields.map { .string($0) })),
        ]
        // Added in 1.0 without a version change: present only for an update of a service.
        if let update { f.append(("update_strategy", .string(update.rawValue))) }
        if let cost {
            f.append(("cost", .object([
                ("monthly_before", cost.before.map { .double($0) } ?? .null),
                ("monthly_after", cost.after.map { .double($0) } ?? .null),
                ("note", cost.note.map { .string($0) } ?? .null),
            ])))
        }
        return .object(f)
    }

    init(json value: ConfigValue) throws {
        let r = JSONReader(value, path: "resource_changes[]")
        let address = try r.string("address")
        guard let kind = ResourceKind(rawValue: try r.string("kind")) else { throw r.failure("kind", "a resource kind") }
        guard let action = PlanAction(rawValue: try r.string("action")) else { throw r.failure("action", "create, update, replace, delete or no-op") }
        let code = try r.object("code_hash")
        self.init(
            address: address, kind: kind, name: try r.string("name"), action: action,
            reasons: try r.array("reasons").map { try $0.string() },
            fields: try r.array("changed_fields").map { f in
                FieldChange(path: try f.string("path"), before: f.value("before"), after: f.value("after"),
                                   sensitive: try f.bool("sensitive"), forcesReplacement: try f.bool("forces_replacement"))
            },
            before: r.value("before"), after: r.value("after"),
            codeHashBefore: try code.optional("before").map { try $0.string() },
            codeHashAfter: try code.optional("after").map { try $0.string() },
            dependencies: try r.array("dependencies").map { try $0.string() },
            wave: try r.int("wave"),
            cost: try r.optional("cost").map { c in
                CostChange(before: try c.optional("monthly_before").map { try $0.double() },
                           after: try c.optional("monthly_after").map { try $0.double() },
                           note: try c.optional("note").map { try $0.string() })
            })
        if let strategy = try r.optional("update_strategy") {
            guard let value = UpdateStrategy(rawValue: try strategy.string()) else { throw r.failure("update_strategy", "scale or rolling") }
            update = value
        }
    }
}

/// A spec with every string that holds a `${secret:…}` reference replaced by `(sensitive)`.
public func masked(_ value: ConfigValue) -> ConfigValue {
    switch value {
    case .string(let s) where s.contains("${secret:"): return .string("(sensitive)")
    case .array(let items): return .array(items.map(masked))
    case .object(let pairs): return .object(pairs.map { ($0.0, masked($0.1)) })
    default: return value
    }
}

extension Estimates.Line {
    var jsonValue: ConfigValue {
        var fields: [(String, ConfigValue)] = [
            ("init_ms", .double(initialSeconds * 1000)), ("each_ms", .double(eachSeconds * 1000)),
            ("register_ms", .double(registerSeconds * 1000)), ("remove_ms", .double(removeSeconds * 1000)), ("stop_ms", .double(stopSeconds * 1000)),
            ("parallelism", .double(parallelism)), ("source", .string(source.rawValue)),
        ]
        if let error { fields.append(("error", .double(error))) }
        if let samples { fields.append(("samples", .int(samples))) }
        return .object(fields)
    }

    /// Plans saved before register, remove, stop and parallelism were modelled read with 0 and 1.
    init(json r: JSONReader) throws {
        guard let source = Estimates.Source(rawValue: try r.string("source")) else { throw r.failure("source", "built-in, manifest or calibrated") }
        func ms(_ key: String) throws -> Double { try r.optional(key).map { try $0.double() / 1000 } ?? 0 }
        self.init(initialSeconds: try r.double("init_ms") / 1000, eachSeconds: try r.double("each_ms") / 1000, registerSeconds: try ms("register_ms"),
                  removeSeconds: try ms("remove_ms"), stopSeconds: try ms("stop_ms"),
                  parallelism: try r.optional("parallelism").map { try $0.double() } ?? 1, source: source,
                  error: try r.optional("error").map { try $0.double() }, samples: try r.optional("samples").map { try $0.int() })
    }
}

extension RolloutEstimate {
    var jsonValue: ConfigValue {
        var top: [(String, ConfigValue)] = [
            ("parallelism", .int(parallelism)),
            ("seconds", .double(seconds)),
        ]
        if let error { top.append(("error_seconds", .double(error))) }
        top += [
            ("formula", .string("per wave and line: init + register·registrations + remove·removals + each·max(1, starts/min(p, q)) + stop·max(1, stops/min(p, q)), a term with nothing to count 0; a service starts and stops its replicas one at a time (at least its largest count); a wave takes its slowest line; total: sum over waves")),
            ("coefficients", .object([
                ("functions", coefficients.functions.jsonValue), ("services", coefficients.services.jsonValue), ("rules", coefficients.rules.jsonValue),
            ])),
            ("waves", .array(waves.map { wave in
                var fields: [(String, ConfigValue)] = [
                    ("index", .int(wave.index)), ("functions", .int(wave.functions)), ("services", .int(wave.services)), ("rules", .int(wave.rules)),
                    ("workers_started", .int(wave.workersStarted)), ("workers_stopped", .int(wave.workersStopped)),
                    ("replicas_started", .int(wave.replicasStarted)), ("replicas_stopped", .int(wave.replicasStopped)),
                    ("seconds", .double(wave.seconds)),
                ]
                if let error = wave.error { fields.append(("error_seconds", .double(error))) }
                return .object(fields)
            })),
        ]
        return .object(top)
    }

    init(json r: JSONReader) throws {
        let c = try r.object("coefficients")
        self.init(
            parallelism: try r.int("parallelism"),
            coefficients: Estimates(functions: try .init(json: try c.object("functions")), services: try .init(json: try c.object("services")), rules: try .init(json: try c.object("rules"))),
            waves: try r.array("waves").map { w in
                var wave = Wave(index: try w.int("index"), functions: try w.int("functions"), services: try w.int("services"), rules: try w.int("rules"), seconds: try w.double("seconds"))
                wave.workersStarted = try w.optional("workers_started").map { try $0.int() } ?? 0
                wave.workersStopped = try w.optional("workers_stopped").map { try $0.int() } ?? 0
                wave.replicasStarted = try w.optional("replicas_started").map { try $0.int() } ?? 0
                wave.replicasStopped = try w.optional("replicas_stopped").map { try $0.int() } ?? 0
                wave.error = try w.optional("error_seconds").map { try $0.double() }
                return wave
            })
    }
}

extension CostSummary {
    var jsonValue: ConfigValue {
        .object([
            ("currency", .string("USD")),
            ("monthly_before", .double(before)), ("monthly_after", .double(after)), ("monthly_delta", .double(delta)),
            ("unknown_before", .int(unknownBefore)), ("unknown_after", .int(unknownAfter)),
            ("pricing", .object([
                ("region", .string(pricing.region)), ("per_gb_second", .double(pricing.perGbSecond)),
                ("per_million_requests", .double(pricing.perMillionRequests)), ("per_vcpu_hour", .double(pricing.perVcpuHour)),
                ("per_gb_hour", .double(pricing.perGbHour)),
            ])),
        ])
    }

    init(json r: JSONReader) throws {
        let p = try r.object("pricing")
        self.init(
            before: try r.double("monthly_before"), after: try r.double("monthly_after"),
            unknownBefore: try r.int("unknown_before"), unknownAfter: try r.int("unknown_after"),
            pricing: Pricing(region: try p.string("region"), perGbSecond: try p.double("per_gb_second"), perMillionRequests: try p.double("per_million_requests"),
                             perVcpuHour: try p.double("per_vcpu_hour"), perGbHour: try p.double("per_gb_hour")))
    }
}

/// Typed access to decoded JSON with errors that name the field.
public struct JSONReader: Sendable {
    public var value: ConfigValue
    public var path: String

    public init(_ value: ConfigValue, path: String) {
        self.value = value
        self.path = path
    }

    func failure(_ key: String, _ expected: String) -> PlanFormatError {
        PlanFormatError("'\(path.isEmpty ? key : path + "." + key)': expected \(expected)")
    }

    public func value(_ key: String) -> ConfigValue? {
        guard let v = value[key], v != .null else { return nil }
        return v
    }

    public func optional(_ key: String) -> JSONReader? {
        value(key).map { JSONReader($0, path: path.isEmpty ? key : path + "." + key) }
    }

    public func object(_ key: String) throws(PlanFormatError) -> JSONReader {
        guard let v = value[key], case .object = v else { throw failure(key, "an object") }
        return JSONReader(v, path: path.isEmpty ? key : path + "." + key)
    }

    public func array(_ key: String) throws(PlanFormatError) -> [JSONReader] {
        guard case .array(let items)? = value[key] else { throw failure(key, "an array") }
        return items.map { JSONReader($0, path: (path.isEmpty ? key : path + "." + key) + "[]") }
    }

    public func string(_ key: String) throws(PlanFormatError) -> String {
        guard let s = value[key]?.stringValue else { throw failure(key, "a string") }
        return s
    }

    public func int(_ key: String) throws(PlanFormatError) -> Int {
        guard let i = value[key]?.intValue else { throw failure(key, "an integer") }
        return i
    }

    public func double(_ key: String) throws(PlanFormatError) -> Double {
        guard let d = value[key]?.doubleValue else { throw failure(key, "a number") }
        return d
    }

    public func bool(_ key: String) throws(PlanFormatError) -> Bool {
        guard case .bool(let b)? = value[key] else { throw failure(key, "true or false") }
        return b
    }

    public func string() throws(PlanFormatError) -> String {
        guard let s = value.stringValue else { throw PlanFormatError("'\(path)': expected a string") }
        return s
    }

    public func int() throws(PlanFormatError) -> Int {
        guard let i = value.intValue else { throw PlanFormatError("'\(path)': expected an integer") }
        return i
    }

    public func double() throws(PlanFormatError) -> Double {
        guard let d = value.doubleValue else { throw PlanFormatError("'\(path)': expected a number") }
        return d
    }

    public func array() throws(PlanFormatError) -> [JSONReader] {
        guard case .array(let items) = value else { throw PlanFormatError("'\(path)': expected an array") }
        return items.map { JSONReader($0, path: path + "[]") }
    }
}
