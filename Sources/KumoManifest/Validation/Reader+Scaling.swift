extension Reader {
    /// Returns the policy when it is complete, and the target reference whenever one was given.
    mutating func scalingPolicy(_ name: String, _ node: NodeRef, _ path: @autoclosure () -> KeyPath) -> (policy: ScalingPolicy?, target: String?, targetNode: NodeRef?)? {
        func ctx() -> String { "scaling policy '\(name)'" }
        guard let f = mapping(node, path(), ctx(), keys: ScalingPolicy.keys) else { return nil }
        var ok = true
        var target: String?
        var targetNode: NodeRef?
        if let n = required(f, "target", path(), ctx(), because: " (an address such as service.api or function.createOrder)") {
            targetNode = n
            if let t = string(n, path() / "target", ctx()) {
                if t.hasPrefix("service.") || t.hasPrefix("function.") {
                    target = t
                } else {
                    error("invalid-reference", "'target' in \(ctx()): expected an address such as service.api or function.createOrder, got '\(t.truncatedForMessage)'", n, path() / "target")
                    ok = false
                }
            } else { ok = false }
        } else { ok = false }
        var minReplicas = ScalingPolicy.defaultMinReplicas
        if let n = f["minReplicas"] {
            if let v = int(n, path() / "minReplicas", ctx(), in: ScalingPolicy.replicasRange) { minReplicas = v } else { ok = false }
        }
        var maxReplicas = 1
        if let n = required(f, "maxReplicas", path(), ctx()) {
            if let v = int(n, path() / "maxReplicas", ctx(), in: ScalingPolicy.maxReplicasRange) {
                maxReplicas = v
                if v < minReplicas {
                    error("out-of-range", "\(ctx()): minReplicas (\(minReplicas)) must not exceed maxReplicas (\(v))", n, path() / "maxReplicas")
                    ok = false
                }
            } else { ok = false }
        } else { ok = false }
        var mode: ScalingPolicy.Mode?
        let modes = ["linear", "targetTracking"].filter { f.has($0) }
        if modes.count != 1 {
            error("invalid-scaling", "\(ctx()) needs exactly one of 'linear' or 'targetTracking'\(modes.isEmpty ? "" : ", got both")", node, path())
            ok = false
        } else if let n = f["linear"] {
            func p() -> KeyPath { path() / "linear" }
            if let l = mapping(n, p(), "the linear policy of \(ctx())", keys: ScalingPolicy.linearKeys) {
                let metric = required(l, "metric", p(), "the linear policy of \(ctx())").flatMap { choice($0, p() / "metric", ctx(), as: ScalingPolicy.Metric.self) }
                let maxLoad = required(l, "maxLoad", p(), "the linear policy of \(ctx())").flatMap { number($0, p() / "maxLoad", ctx(), in: ScalingPolicy.loadBounds) }
                if let metric, let maxLoad { mode = .linear(metric: metric, maxLoad: maxLoad) } else { ok = false }
            } else { ok = false }
        } else if let n = f["targetTracking"] {
            func p() -> KeyPath { path() / "targetTracking" }
            if let t = mapping(n, p(), "the targetTracking policy of \(ctx())", keys: ScalingPolicy.targetTrackingKeys) {
                let metric = required(t, "metric", p(), "the targetTracking policy of \(ctx())").flatMap { choice($0, p() / "metric", ctx(), as: ScalingPolicy.Metric.self) }
                var value: Double?
                if let tn = required(t, "target", p(), "the targetTracking policy of \(ctx())") {
                    let utilization = metric?.isUtilization ?? false
                    value = number(tn, p() / "target", ctx(), in: utilization ? ScalingPolicy.loadBounds.atMost(ScalingPolicy.utilizationMaximum) : ScalingPolicy.loadBounds)
                }
                if let metric, let value { mode = .targetTracking(metric: metric, target: value) } else { ok = false }
            } else { ok = false }
        }
        var behavior: ScalingPolicy.Behavior?
        if let n = f["behavior"] {
            func p() -> KeyPath { path() / "behavior" }
            if let b = mapping(n, p(), "the behavior of \(ctx())", keys: ScalingPolicy.Behavior.keys) {
                var value = ScalingPolicy.Behavior()
                if let u = b["scaleUp"] { value.scaleUp = scalingRules(u, p() / "scaleUp", ctx()); if value.scaleUp == nil { ok = false } }
                if let d = b["scaleDown"] { value.scaleDown = scalingRules(d, p() / "scaleDown", ctx()); if value.scaleDown == nil { ok = false } }
                behavior = value
            } else { ok = false }
        }
        guard ok, let target, let mode else { return (nil, target, targetNode) }
        return (ScalingPolicy(name: name, target: target, minReplicas: minReplicas, maxReplicas: maxReplicas, mode: mode, behavior: behavior, range: node.range), target, targetNode)
    }

    private mutating func scalingRules(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String) -> ScalingPolicy.Rules? {
        func rctx() -> String { "'\(Reader.keyName(path()))' of \(ctx())" }
        guard let f = mapping(node, path(), rctx(), keys: ScalingPolicy.Rules.keys) else { return nil }
        var rules = ScalingPolicy.Rules(stabilizationWindow: nil, policies: [], selectPolicy: nil)
        var ok = true
        if let n = f["stabilizationWindow"] {
            rules.stabilizationWindow = duration(n, path() / "stabilizationWindow", ctx(), in: ScalingPolicy.Rules.stabilizationWindowRange)
            if rules.stabilizationWindow == nil { ok = false }
        }
        if let n = f["selectPolicy"] {
            rules.selectPolicy = choice(n, path() / "selectPolicy", ctx(), as: ScalingPolicy.Rules.Select.self)
            if rules.selectPolicy == nil { ok = false }
        }
        if let n = f["policies"], let items = list(n, path() / "policies", ctx()) {
            for (i, item) in items.enumerated() {
                func p() -> KeyPath { path() / "policies" / i }
                guard let pf = mapping(item, p(), "a scaling policy rule of \(ctx())", keys: ScalingPolicy.Policy.keys) else { ok = false; continue }
                let type = required(pf, "type", p(), "a scaling policy rule of \(ctx())").flatMap { choice($0, p() / "type", ctx(), as: ScalingPolicy.Policy.Kind.self) }
                let value = required(pf, "value", p(), "a scaling policy rule of \(ctx())").flatMap { int($0, p() / "value", ctx(), in: ScalingPolicy.Policy.valueRange) }
                let period = required(pf, "period", p(), "a scaling policy rule of \(ctx())").flatMap { duration($0, p() / "period", ctx(), in: ScalingPolicy.Policy.periodRange) }
                if let type, let value, let period { rules.policies.append(ScalingPolicy.Policy(type: type, value: value, period: period)) } else { ok = false }
            }
        } else if f.has("policies") { ok = false }
        return ok ? rules : nil
    }
}
