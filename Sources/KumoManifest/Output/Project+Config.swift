import KumoEvents
/// The resolved project in manifest form: `kumo config` prints it, and it validates again as a
/// manifest (defaults applied, variables resolved, secrets kept as `${secret:NAME}` references).
extension Project {
    public var configValue: ConfigValue {
        var top: [(String, ConfigValue)] = [("version", .int(version)), ("project", .string(name))]
        if !functions.isEmpty { top.append(("functions", .object(functions.map { ($0.name, $0.configValue) }))) }
        if !services.isEmpty { top.append(("services", .object(services.map { ($0.name, $0.configValue) }))) }
        if !scaling.isEmpty { top.append(("scaling", .object(scaling.map { ($0.name, $0.configValue) }))) }
        if !rules.isEmpty { top.append(("rules", .object(rules.map { ($0.name, $0.configValue) }))) }
        top.append(("estimates", .object([
            ("functions", estimates.functions.configValue(Estimates.Line.fields)),
            ("services", estimates.services.configValue(Estimates.Line.fields)),
            ("rules", estimates.rules.configValue(Estimates.Line.ruleFields)),
        ])))
        top.append(("pricing", .object([
            ("region", .string(pricing.region)),
            ("functions", .object([("perGbSecond", .double(pricing.perGbSecond)), ("perMillionRequests", .double(pricing.perMillionRequests))])),
            ("services", .object([("perVcpuHour", .double(pricing.perVcpuHour)), ("perGbHour", .double(pricing.perGbHour))])),
        ])))
        if !usage.isEmpty {
            top.append(("usage", .object(usage.keys.sorted().map { key in
                (key, .object([("monthlyRequests", .int(usage[key]!.monthlyRequests)), ("averageDuration", .string(usage[key]!.averageDuration.description))]))
            })))
        }
        return .object(top)
    }
}

extension ConfigValue {
    static func environment(_ env: [String: Text]) -> ConfigValue {
        .object(env.keys.sorted().map { ($0, .string(env[$0]!.manifestText)) })
    }

    static func argv(_ args: [Text]) -> ConfigValue {
        .array(args.map { .string($0.manifestText) })
    }

    static func text(_ s: String) -> ConfigValue {
        .string(Text.escaped(s))
    }
}

extension Function {
    public var configValue: ConfigValue {
        var f: [(String, ConfigValue)] = []
        if let description { f.append(("description", .text(description))) }
        f.append(("runtime", .string(runtime.rawValue)))
        if let handler { f.append(("handler", .text(handler))) }
        if let code { f.append(("code", .text(code))) }
        if !command.isEmpty { f.append(("command", .argv(command))) }
        if let image { f.append(("image", .text(image))) }
        f.append(("memory", .int(memory)))
        f.append(("timeout", .string(timeout.description)))
        if !environment.isEmpty { f.append(("environment", .environment(environment))) }
        f.append(("concurrency", .int(concurrency)))
        f.append(("minInstances", .int(minInstances)))
        f.append(("idleTimeout", .string(idleTimeout.description)))
        if !events.isEmpty {
            f.append(("events", .array(events.map { event in
                switch event {
                case .http(let method, let path): return .object([("http", .object([("method", .string(method)), ("path", .text(path))]))])
                case .schedule(let schedule): return .object([("schedule", .text(schedule.expression))])
                }
            })))
        }
        if let invokeConfig {
            f.append(("invokeConfig", .object([
                ("maximumRetryAttempts", .int(invokeConfig.maximumRetryAttempts)),
                ("maximumEventAge", .string(invokeConfig.maximumEventAge.description)),
                ("onFailure", .string(invokeConfig.onFailure.rawValue)),
            ])))
        }
        return .object(f)
    }
}

extension Service {
    public var configValue: ConfigValue {
        var f: [(String, ConfigValue)] = []
        if let description { f.append(("description", .text(description))) }
        f.append(("command", .argv(command)))
        if let code { f.append(("code", .text(code))) }
        if let image { f.append(("image", .text(image))) }
        if let port { f.append(("port", .int(port))) }
        f.append(("replicas", .int(replicas)))
        f.append(("resources", .object([("cpu", .double(resources.cpu)), ("memory", .int(resources.memory))])))
        if !environment.isEmpty { f.append(("environment", .environment(environment))) }
        if let healthcheck {
            var h: [(String, ConfigValue)] = []
            switch healthcheck.probe {
            case .http(let path): h.append(("http", .text(path)))
            case .tcp: h.append(("tcp", .bool(true)))
            case .exec(let argv): h.append(("exec", .argv(argv)))
            }
            h.append(("interval", .string(healthcheck.interval.description)))
            h.append(("timeout", .string(healthcheck.timeout.description)))
            h.append(("retries", .int(healthcheck.retries)))
            h.append(("startPeriod", .string(healthcheck.startPeriod.description)))
            f.append(("healthcheck", .object(h)))
        }
        if !dependsOn.isEmpty {
            f.append(("dependsOn", .object(dependsOn.keys.sorted().map { ($0, .object([("condition", .string(dependsOn[$0]!.rawValue))])) })))
        }
        f.append(("restart", .string(restart.rawValue)))
        f.append(("stopGracePeriod", .string(stopGracePeriod.description)))
        return .object(f)
    }
}

extension ScalingPolicy {
    public var configValue: ConfigValue {
        var f: [(String, ConfigValue)] = [("target", .string(target)), ("minReplicas", .int(minReplicas)), ("maxReplicas", .int(maxReplicas))]
        switch mode {
        case .linear(let metric, let maxLoad):
            f.append(("linear", .object([("metric", .string(metric.rawValue)), ("maxLoad", .double(maxLoad))])))
        case .targetTracking(let metric, let target):
            f.append(("targetTracking", .object([("metric", .string(metric.rawValue)), ("target", .double(target))])))
        }
        if let behavior {
            var b: [(String, ConfigValue)] = []
            if let up = behavior.scaleUp { b.append(("scaleUp", up.configValue)) }
            if let down = behavior.scaleDown { b.append(("scaleDown", down.configValue)) }
            f.append(("behavior", .object(b)))
        }
        return .object(f)
    }
}

extension ScalingPolicy.Rules {
    var configValue: ConfigValue {
        var r: [(String, ConfigValue)] = []
        if let stabilizationWindow { r.append(("stabilizationWindow", .string(stabilizationWindow.description))) }
        if !policies.isEmpty {
            r.append(("policies", .array(policies.map {
                .object([("type", .string($0.type.rawValue)), ("value", .int($0.value)), ("period", .string($0.period.description))])
            })))
        }
        if let selectPolicy { r.append(("selectPolicy", .string(selectPolicy.rawValue))) }
        return .object(r)
    }
}

extension Rule {
    public var configValue: ConfigValue {
        var f: [(String, ConfigValue)] = []
        if let description { f.append(("description", .text(description))) }
        f.append(("enabled", .bool(enabled)))
        if let pattern { f.append(("pattern", pattern.source.configValue)) }
        if let schedule { f.append(("schedule", .string(schedule.expression))) }
        f.append(("targets", .array(targets.map(\.configValue))))
        f.append(("retryPolicy", .object([
            ("maximumRetryAttempts", .int(retryPolicy.maximumRetryAttempts)),
            ("maximumEventAge", .string(retryPolicy.maximumEventAge.description)),
        ])))
        f.append(("deadLetter", .bool(deadLetter)))
        return .object(f)
    }
}

extension RuleTarget {
    var configValue: ConfigValue {
        var f: [(String, ConfigValue)] = [(kind.rawValue, .string(name))]
        if let path { f.append(("path", .text(path))) }
        if let inputTransformer {
            f.append(("inputTransformer", .object([
                ("inputPathsMap", .object(inputTransformer.inputPathsMap.keys.sorted().map { ($0, .text(inputTransformer.inputPathsMap[$0]!)) })),
                ("inputTemplate", .text(inputTransformer.inputTemplate)),
            ])))
        }
        if let input { f.append(("input", .text(input))) }
        if let inputPath { f.append(("inputPath", .text(inputPath))) }
        return .object(f)
    }
}

extension JSON {
    /// A pattern's canonical form: strings are data, not interpolated; numbers are compared by value.
    public var configValue: ConfigValue {
        switch self {
        case .object(let pairs): return .object(pairs.map { ($0.key, $0.value.configValue) })
        case .array(let items): return .array(items.map(\.configValue))
        case .string(let s): return .string(s)
        case .number(let n, _): return .double(n)
        case .bool(let b): return .bool(b)
        case .null: return .null
        }
    }
}

extension Estimates.Line {
    /// The line in manifest form, with the keys of `fields` in their order (rules have only
    /// init and each).
    func configValue(_ fields: Field.Table) -> ConfigValue {
        let values: [String: ConfigValue] = [
            "init": .string(initial.description), "each": .string(each.description), "register": .string(register.description),
            "remove": .string(remove.description), "stop": .string(stop.description), "parallelism": .double(parallelism),
        ]
        return .object(fields.keys.compactMap { key in values[key].map { (key, $0) } })
    }
}
