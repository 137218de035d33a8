extension Service {
    static func isReservedEnvironment(_ name: String) -> Bool {
        name == "PORT" || name.utf8.starts(with: "KUMO_".utf8)
    }
}

extension Reader {
    /// Reads a service. `partial` reads `defaults.service`.
    mutating func service(_ name: String, _ node: NodeRef, _ path: @autoclosure () -> KeyPath, partial: Bool = false, defaults: NodeRef.Pairs? = nil, codeChecker: inout CodeChecker) -> (Service, dependsOnNodes: [String: NodeRef])? {
        func ctx() -> String { partial ? "defaults.service" : "service '\(name)'" }
        guard let f = mapping(node, path(), ctx(), keys: Service.keys, defaults: defaults) else { return nil }
        var ok = true
        var service = Service(
            name: name, command: [], replicas: Service.defaultReplicas, resources: .default, environment: [:],
            dependsOn: [:], restart: Service.defaultRestart, stopGracePeriod: Service.defaultStopGracePeriod, range: node.range)
        var dependsOnNodes: [String: NodeRef] = [:]
        let allow: InterpolationAllowance = [.secret, .port]
        if let n = f["description"] { service.description = string(n, path() / "description", ctx()) }
        if let n = f["command"] {
            if let c = command(n, path() / "command", ctx(), allow: allow) { service.command = c } else { ok = false }
        } else if !partial {
            _ = required(f, "command", path(), ctx(), because: " (the argv that starts one replica)")
            ok = false
        }
        if let n = f["code"] {
            if let c = string(n, path() / "code", ctx()), let resolved = codeChecker.check(c, at: n, path() / "code", ctx(), reader: &self) {
                service.code = resolved
            } else { ok = false }
        }
        if let n = f["image"] { service.image = string(n, path() / "image", ctx()) }
        if let n = f["port"] {
            if let v = int(n, path() / "port", ctx(), in: Service.portRange) { service.port = v } else { ok = false }
        }
        if let n = f["replicas"] {
            if let v = int(n, path() / "replicas", ctx(), in: Service.replicasRange) { service.replicas = v } else { ok = false }
        }
        if let n = f["resources"] {
            func rctx() -> String { "the resources of \(ctx())" }
            if let r = mapping(n, path() / "resources", rctx(), keys: Service.Resources.keys) {
                if let c = r["cpu"] {
                    if let v = number(c, path() / "resources" / "cpu", ctx(), in: Service.Resources.cpuBounds) { service.resources.cpu = v } else { ok = false }
                }
                if let m = r["memory"] {
                    if let v = size(m, path() / "resources" / "memory", ctx(), in: Service.Resources.memoryRange) { service.resources.memory = v } else { ok = false }
                }
            } else { ok = false }
        }
        if let n = f["environment"] {
            service.environment = environment(n, path() / "environment", ctx(), allow: allow, reserved: Service.isReservedEnvironment)
        }
        if let n = f["healthcheck"] {
            if let h = healthcheck(n, path() / "healthcheck", ctx(), partial: partial) { service.healthcheck = h } else { ok = false }
        }
        if let n = f["dependsOn"] {
            func p() -> KeyPath { path() / "dependsOn" }
            switch n.kind {
            case .sequence(let items):
                for (i, item) in items.enumerated() {
                    if let dep = string(item, p() / i, ctx()) {
                        service.dependsOn[dep] = Service.defaultDependency
                        dependsOnNodes[dep] = item
                    } else { ok = false }
                }
            default:
                for pair in namedEntries(n, p(), ctx()) {
                    let dep = pair.key.scalar!.text
                    dependsOnNodes[dep] = pair.key
                    guard let d = mapping(pair.value, p() / dep, "the dependsOn entry '\(dep)' of \(ctx())", keys: Service.dependencyKeys) else { ok = false; continue }
                    if let c = d["condition"] {
                        if let v = choice(c, p() / dep / "condition", ctx(), as: Service.Dependency.self) { service.dependsOn[dep] = v } else { ok = false }
                    } else {
                        service.dependsOn[dep] = Service.defaultDependency
                    }
                }
            }
        }
        if let n = f["restart"] {
            if let v = choice(n, path() / "restart", ctx(), as: Service.RestartPolicy.self) { service.restart = v } else { ok = false }
        }
        if let n = f["stopGracePeriod"] {
            if let v = duration(n, path() / "stopGracePeriod", ctx(), in: Service.stopGracePeriodRange) { service.stopGracePeriod = v } else { ok = false }
        }
        if !partial, f["healthcheck"] == nil {
            warning("no-healthcheck", "service '\(name)' has no healthcheck: it counts as ready as soon as it starts, and a hung replica is never restarted", f.node, path())
        }
        // A resource with errors is still returned: cross-checks (references, ports, cycles)
        // then report their problems too, so every error surfaces in one run.
        assert(ok || sink.hasErrors || quietErrors > 0, "a field failed without a diagnostic")
        return (service, dependsOnNodes)
    }

    /// `partial` (in `defaults.service`) allows timings without a probe: each service gives its own.
    private mutating func healthcheck(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, partial: Bool = false) -> Healthcheck? {
        func hctx() -> String { "the healthcheck of \(ctx())" }
        guard let f = mapping(node, path(), hctx(), keys: Healthcheck.keys) else { return nil }
        var ok = true
        let probes = ["http", "tcp", "exec"].filter { f.has($0) }
        guard probes.count == 1 || (partial && probes.isEmpty) else {
            error("invalid-healthcheck", "\(hctx()) needs exactly one of 'http', 'tcp' or 'exec'\(probes.isEmpty ? "" : ", got \(probes.map { "'\($0)'" }.joined(separator: " and "))")", node, path())
            return nil
        }
        var probe: Healthcheck.Probe = .tcp
        if let n = f["http"] {
            if let p = string(n, path() / "http", ctx()) {
                if p.hasPrefix("/") { probe = .http(path: p) } else {
                    error("invalid-value", "'http' in \(hctx()): expected a path starting with '/', got '\(p.truncatedForMessage)'", n, path() / "http")
                    ok = false
                }
            } else { ok = false }
        } else if let n = f["tcp"] {
            if let b = bool(n, path() / "tcp", ctx()) {
                if !b {
                    error("invalid-value", "'tcp' in \(hctx()): write 'tcp: true' to probe the port, or remove the healthcheck", n, path() / "tcp")
                    ok = false
                }
            } else { ok = false }
        } else if let n = f["exec"] {
            if let c = command(n, path() / "exec", ctx(), allow: [.port, .secret]) { probe = .exec(c) } else { ok = false }
        }
        var check = Healthcheck(probe: probe, interval: Healthcheck.defaultInterval, timeout: Healthcheck.defaultTimeout, retries: Healthcheck.defaultRetries, startPeriod: Healthcheck.defaultStartPeriod)
        if let n = f["interval"] {
            if let v = duration(n, path() / "interval", ctx(), in: Healthcheck.intervalRange) { check.interval = v } else { ok = false }
        }
        if let n = f["timeout"] {
            if let v = duration(n, path() / "timeout", ctx(), in: Healthcheck.timeoutRange) { check.timeout = v } else { ok = false }
        }
        if let n = f["retries"] {
            if let v = int(n, path() / "retries", ctx(), in: Healthcheck.retriesRange) { check.retries = v } else { ok = false }
        }
        if let n = f["startPeriod"] {
            if let v = duration(n, path() / "startPeriod", ctx(), in: Healthcheck.startPeriodRange) { check.startPeriod = v } else { ok = false }
        }
        if ok, check.timeout > check.interval {
            // Either may be the default: point at whichever was written.
            let n = f["timeout"] ?? f["interval"] ?? node
            let key = f["timeout"] != nil ? "timeout" : "interval"
            error("out-of-range", "'timeout' in \(hctx()): \(check.timeout) is longer than the interval of \(check.interval)", n, path() / key)
            ok = false
        }
        return ok ? check : nil
    }
}
