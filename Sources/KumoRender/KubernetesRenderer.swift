import KumoManifest

/// Renders a project as Kubernetes objects.
///
/// Services become a `Deployment` and a `Service`, their scaling policies
/// `autoscaling/v2` `HorizontalPodAutoscaler`s; functions with an `image` become Knative
/// `Service`s; secrets are `secretKeyRef`s to one `Secret` per project whose values the user
/// fills in. Functions without an image and rules are reported, never silently dropped.
/// A value type used once, by one thread.
struct KubernetesRenderer {
    let project: Project
    private(set) var findings = Findings()
    private let services: [String: Service]
    /// Kubernetes name → the address that took it (Deployments, Services and Knative Services).
    private var taken: [String: String] = [:]
    /// Secrets the rendered containers reference.
    private var secrets: Set<String> = []

    static let initImage = "busybox:1.36"
    static let managedBy = "kumo"
    /// The Pods metrics an HPA reads for the metrics that are not CPU; a metrics adapter (the
    /// Prometheus adapter, for one) must serve them.
    static let podMetrics: [ScalingPolicy.Metric: String] = [
        .requestsPerSecond: "kumo_requests_per_second", .inFlight: "kumo_in_flight_requests", .concurrency: "kumo_concurrency",
    ]

    init(project: Project) {
        self.project = project
        self.services = project.servicesByName
    }

    /// The label value `app.kubernetes.io/part-of` carries: the project name, trimmed to what a
    /// label value allows.
    private var partOf: String {
        var value = String(project.name.prefix(63))
        while let last = value.last, !(last.isASCII && (last.isLetter || last.isNumber)) { value.removeLast() }
        return value
    }

    private var secretName: String { (RenderSupport.kubernetesName(project.name).map { String($0.prefix(55)) } ?? "kumo") + "-secrets" }

    mutating func documents() -> [Rendering.Document] {
        var documents: [Rendering.Document] = []
        for s in project.services { documents += service(s) }
        for fn in project.functions {
            if let knative = function(fn) { documents.append(knative) }
        }
        for rule in project.rules {
            findings.warning(.notRendered, "rule '\(rule.name)' is not rendered for Kubernetes: Knative triggers cannot filter on event content (EventBridge patterns); --target sam renders rules", at: KeyPath("rules", rule.name), in: rule.range)
        }
        if !secrets.isEmpty {
            let secret: ConfigValue = .object([
                ("apiVersion", .string("v1")), ("kind", .string("Secret")),
                ("metadata", .object([("name", .string(secretName)), ("labels", labels(nil)),
                                      ("annotations", .object([("kumo.dev/values", .string("left for you: set each key before the workloads start (kubectl create secret generic \(secretName) --from-literal=NAME=VALUE)"))]))])),
                ("type", .string("Opaque")),
                ("stringData", .object(secrets.sorted().map { ($0, .string("")) })),
            ])
            documents.insert(Rendering.Document(apiVersion: "v1", kind: "Secret", name: secretName, value: secret), at: 0)
        }
        return documents
    }

    private func labels(_ name: String?) -> ConfigValue {
        var pairs: [(String, ConfigValue)] = []
        if let name { pairs.append(("app.kubernetes.io/name", .string(name))) }
        pairs.append(("app.kubernetes.io/part-of", .string(partOf)))
        pairs.append(("app.kubernetes.io/managed-by", .string(KubernetesRenderer.managedBy)))
        return .object(pairs)
    }

    private func selector(_ name: String) -> ConfigValue {
        .object([("app.kubernetes.io/name", .string(name)), ("app.kubernetes.io/part-of", .string(partOf))])
    }

    /// The object name of a resource, reserved for it; nil after reporting why it has none.
    private mutating func objectName(_ name: String, _ address: String, _ path: KeyPath, _ range: SourceRange) -> String? {
        guard let converted = RenderSupport.kubernetesName(name) else {
            findings.error(.nameCollision, "\(address) has no valid Kubernetes name (lowercase letters, digits and '-', at most 63)", at: path, in: range)
            return nil
        }
        if let owner = taken[converted], owner != address {
            findings.error(.nameCollision, "\(address) and \(owner) both render as the Kubernetes name '\(converted)'; rename one", at: path, in: range)
            return nil
        }
        taken[converted] = address
        return converted
    }

    // MARK: Services

    private mutating func service(_ s: Service) -> [Rendering.Document] {
        let path = KeyPath("services", s.name)
        guard let image = s.image else {
            findings.error(.missingImage, "service '\(s.name)' has no 'image': kumo render needs the container image that runs it (the local runtime runs 'command')", at: path, in: s.range)
            return []
        }
        guard let name = objectName(s.name, s.address, path, s.range) else { return [] }
        if s.restart == .no {
            findings.warning(.notExpressible, "'restart: no' of service '\(s.name)' is not rendered: a Deployment always restarts its containers", at: path / "restart", alternates: [KeyPath("defaults", "service", "restart")], in: s.range)
        }
        let port = RenderSupport.containerPort(s)
        let ports = RenderSupport.referencedPorts(of: s.address, in: project, services: services)
        var env = Environment()
        var container: [(String, ConfigValue)] = [("name", .string(name)), ("image", .string(image))]
        container.append(("args", .array(s.command.enumerated().map { i, arg in
            .string(expand(arg, port: port, services: ports, env: &env, at: path / "command" / i, in: s.range))
        })))
        container.append(("ports", .array([.object([("name", .string("http")), ("containerPort", .int(port)), ("protocol", .string("TCP"))])])))
        env.plain.append(("PORT", String(port)))
        environment(s.environment, port: port, services: ports, into: &env, at: path / "environment", in: s.range)
        container.append(("env", env.value(secret: secretName)))
        let cpu = "\(Int((s.resources.cpu * 1000).rounded(.up)))m", memory = "\(s.resources.memory)Mi"
        let amounts: ConfigValue = .object([("cpu", .string(cpu)), ("memory", .string(memory))])
        container.append(("resources", .object([("requests", amounts), ("limits", amounts)])))
        if let check = s.healthcheck, let probe = probe(check, service: s, port: port) {
            container.append(("readinessProbe", probe))
            container.append(("livenessProbe", probe))
        }
        var pod: [(String, ConfigValue)] = [
            ("terminationGracePeriodSeconds", .int(RenderSupport.seconds(s.stopGracePeriod, in: 0...Int(Int32.max)).value)),
        ]
        let waits = initContainers(s)
        if !waits.isEmpty { pod.append(("initContainers", .array(waits))) }
        pod.append(("containers", .array([.object(container)])))
        let deployment: ConfigValue = .object([
            ("apiVersion", .string("apps/v1")), ("kind", .string("Deployment")),
            ("metadata", .object([("name", .string(name)), ("labels", labels(name))])),
            ("spec", .object([
                ("replicas", .int(s.replicas)),
                ("selector", .object([("matchLabels", selector(name))])),
                ("template", .object([("metadata", .object([("labels", labels(name))])), ("spec", .object(pod))])),
            ])),
        ])
        var documents = [Rendering.Document(apiVersion: "apps/v1", kind: "Deployment", name: name, value: deployment)]
        if let front = s.port {
            let service: ConfigValue = .object([
                ("apiVersion", .string("v1")), ("kind", .string("Service")),
                ("metadata", .object([("name", .string(name)), ("labels", labels(name))])),
                ("spec", .object([
                    ("selector", selector(name)),
                    ("ports", .array([.object([("name", .string("http")), ("port", .int(front)), ("targetPort", .int(port)), ("protocol", .string("TCP"))])])),
                ])),
            ])
            documents.append(Rendering.Document(apiVersion: "v1", kind: "Service", name: name, value: service))
        }
        if let policy = project.policy(for: s.address), let hpa = horizontalPodAutoscaler(policy, deployment: name) {
            documents.append(hpa)
        }
        return documents
    }

    /// Readiness and liveness probes from a healthcheck: the same check, period, timeout,
    /// failure count and initial delay (the start period).
    private mutating func probe(_ check: Healthcheck, service s: Service, port: Int) -> ConfigValue? {
        let path = KeyPath("services", s.name, "healthcheck")
        var probe: [(String, ConfigValue)]
        switch check.probe {
        case .http(let route):
            probe = [("httpGet", .object([("path", .string(route)), ("port", .int(port))]))]
        case .tcp:
            probe = [("tcpSocket", .object([("port", .int(port))]))]
        case .exec(let argv):
            guard !argv.contains(where: \.isSensitive) else {
                findings.warning(.notExpressible, "the exec healthcheck of service '\(s.name)' names a secret, and Kubernetes does not expand variables in an exec probe: no probe is rendered", at: path / "exec", in: s.range)
                return nil
            }
            var command: [ConfigValue] = []
            for arg in argv {
                var text = ""
                for part in arg.parts {
                    switch part {
                    case .literal(let literal): text += literal
                    case .port: text += String(port)
                    case .secret: break
                    }
                }
                command.append(.string(text))
            }
            probe = [("exec", .object([("command", .array(command))]))]
        }
        func fit(_ duration: KumoManifest.Duration, _ key: String, _ range: ClosedRange<Int>) -> Int {
            let fitted = RenderSupport.seconds(duration, in: range)
            if let change = fitted.change {
                findings.warning(.approximated, "'\(key)' of the healthcheck of service '\(s.name)': probes take whole seconds; \(change)", at: path / key, in: s.range)
            }
            return fitted.value
        }
        probe.append(("initialDelaySeconds", .int(fit(check.startPeriod, "startPeriod", 0...Int(Int32.max)))))
        probe.append(("periodSeconds", .int(fit(check.interval, "interval", 1...Int(Int32.max)))))
        probe.append(("timeoutSeconds", .int(fit(check.timeout, "timeout", 1...Int(Int32.max)))))
        probe.append(("failureThreshold", .int(max(1, check.retries))))
        return .object(probe)
    }

    /// An init container per `condition: healthy` dependency that waits until the dependency's
    /// Service answers: its readiness endpoint for an http healthcheck, its port otherwise (a
    /// Service forwards only to ready pods).
    private mutating func initContainers(_ s: Service) -> [ConfigValue] {
        var containers: [ConfigValue] = []
        for dependency in s.dependsOn.keys.sorted() {
            let path = KeyPath("services", s.name, "dependsOn", dependency)
            guard s.dependsOn[dependency] == .healthy else {
                findings.warning(.notExpressible, "dependsOn '\(dependency)' (condition: started) of service '\(s.name)' is not rendered: Kubernetes starts pods in no order; condition: healthy renders an init container that waits", at: path, in: s.range)
                continue
            }
            guard let target = services[dependency], let port = target.port, let host = RenderSupport.kubernetesName(dependency) else {
                findings.warning(.notRendered, "dependsOn '\(dependency)' of service '\(s.name)' is not rendered: service '\(dependency)' has no 'port', so no Service to wait for", at: path, in: s.range)
                continue
            }
            let check: String
            if case .http(let route)? = target.healthcheck?.probe {
                let url = "http://\(host):\(port)\(route)"
                check = "wget -q -O /dev/null '\(url.replacing("'", with: "'\\''"))'"
            } else {
                check = "nc -z \(host) \(port)"
            }
            containers.append(.object([
                ("name", .string(String("wait-for-\(host)".prefix(63)))),
                ("image", .string(KubernetesRenderer.initImage)),
                ("command", .array([.string("sh"), .string("-c"), .string("until \(check); do echo waiting for \(host); sleep 2; done")])),
            ]))
        }
        return containers
    }

    private mutating func horizontalPodAutoscaler(_ policy: ScalingPolicy, deployment: String) -> Rendering.Document? {
        let path = KeyPath("scaling", policy.name)
        let (metric, target, linear) = RenderSupport.perReplicaTarget(policy)
        if linear {
            findings.warning(.approximated, RenderSupport.linearApproximation(policy, target: target, as: "HorizontalPodAutoscaler"), at: path / "linear", in: policy.range)
        }
        var minimum = policy.minReplicas
        if minimum == 0 {
            minimum = 1
            findings.warning(.approximated, "minReplicas 0 of scaling policy '\(policy.name)' is rendered as 1: a HorizontalPodAutoscaler scales to zero only behind the alpha feature gate HPAScaleToZero", at: path / "minReplicas", in: policy.range)
        }
        let metricSpec: ConfigValue
        if metric == .cpu {
            metricSpec = .object([("type", .string("Resource")), ("resource", .object([
                ("name", .string("cpu")), ("target", .object([("type", .string("Utilization")), ("averageUtilization", .int(Int((target * 100).rounded())))])),
            ]))])
        } else {
            metricSpec = .object([("type", .string("Pods")), ("pods", .object([
                ("metric", .object([("name", .string(KubernetesRenderer.podMetrics[metric]!))])),
                ("target", .object([("type", .string("AverageValue")), ("averageValue", .string(RenderSupport.number(target)))])),
            ]))])
        }
        var spec: [(String, ConfigValue)] = [
            ("scaleTargetRef", .object([("apiVersion", .string("apps/v1")), ("kind", .string("Deployment")), ("name", .string(deployment))])),
            ("minReplicas", .int(minimum)),
            ("maxReplicas", .int(max(minimum, policy.maxReplicas))),
            ("metrics", .array([metricSpec])),
        ]
        if let behavior = policy.behavior {
            var sides: [(String, ConfigValue)] = []
            if let up = behavior.scaleUp { sides.append(("scaleUp", rules(up, policy: policy, at: path / "behavior" / "scaleUp"))) }
            if let down = behavior.scaleDown { sides.append(("scaleDown", rules(down, policy: policy, at: path / "behavior" / "scaleDown"))) }
            if !sides.isEmpty { spec.append(("behavior", .object(sides))) }
        }
        let name = deployment
        let value: ConfigValue = .object([
            ("apiVersion", .string("autoscaling/v2")), ("kind", .string("HorizontalPodAutoscaler")),
            ("metadata", .object([("name", .string(name)), ("labels", labels(name))])),
            ("spec", .object(spec)),
        ])
        return Rendering.Document(apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", name: name, value: value)
    }

    /// One side of `behavior`, field by field: the window, each rate policy, selectPolicy.
    private mutating func rules(_ rules: ScalingPolicy.Rules, policy: ScalingPolicy, at path: KeyPath) -> ConfigValue {
        var out: [(String, ConfigValue)] = []
        if let window = rules.stabilizationWindow {
            let fitted = RenderSupport.seconds(window, in: 0...3600)
            if let change = fitted.change {
                findings.warning(.approximated, "stabilizationWindow of scaling policy '\(policy.name)': the HPA takes 0–3600 whole seconds; \(change)", at: path / "stabilizationWindow", in: policy.range)
            }
            out.append(("stabilizationWindowSeconds", .int(fitted.value)))
        }
        if let select = rules.selectPolicy {
            out.append(("selectPolicy", .string(select.rawValue.prefix(1).uppercased() + select.rawValue.dropFirst())))
        }
        if !rules.policies.isEmpty {
            out.append(("policies", .array(rules.policies.enumerated().map { i, rate -> ConfigValue in
                let fitted = RenderSupport.seconds(rate.period, in: 1...1800)
                if let change = fitted.change {
                    findings.warning(.approximated, "period of scaling policy '\(policy.name)': the HPA takes 1–1800 whole seconds; \(change)", at: path / "policies" / i / "period", in: policy.range)
                }
                return .object([("type", .string(rate.type == .percent ? "Percent" : "Pods")), ("value", .int(rate.value)), ("periodSeconds", .int(fitted.value))])
            })))
        }
        return .object(out)
    }

    // MARK: Functions

    /// A function with an `image` as a Knative Service; without one it is reported.
    private mutating func function(_ fn: Function) -> Rendering.Document? {
        let path = KeyPath("functions", fn.name)
        let policy = project.policy(for: fn.address)
        guard let image = fn.image else {
            findings.warning(.notRendered, "function '\(fn.name)' is not rendered for Kubernetes: it has no 'image' (a container serving HTTP on $PORT, run by Knative); --target sam deploys Lambda-style handlers", at: path, in: fn.range)
            if let policy {
                findings.warning(.notRendered, "scaling policy '\(policy.name)' is not rendered for Kubernetes: its target function '\(fn.name)' has no 'image'", at: KeyPath("scaling", policy.name), in: policy.range)
            }
            return nil
        }
        guard let name = objectName(fn.name, fn.address, path, fn.range) else { return nil }
        for (i, event) in fn.events.enumerated() {
            if case .schedule(let schedule) = event {
                findings.warning(.notRendered, "schedule '\(schedule.expression)' of function '\(fn.name)' is not rendered for Kubernetes (Knative serves HTTP; a CronJob or PingSource can call it)", at: path / "events" / i / "schedule", in: fn.range)
            }
        }
        if fn.invokeConfig != nil {
            findings.warning(.notExpressible, "'invokeConfig' of function '\(fn.name)' is not rendered: Knative Services are called synchronously", at: path / "invokeConfig", in: fn.range)
        }
        let ports = RenderSupport.referencedPorts(of: fn.address, in: project, services: services)
        var env = Environment()
        environment(fn.environment, port: nil, services: ports, into: &env, at: path / "environment", in: fn.range)
        var annotations: [(String, String)] = []
        let prefix = "autoscaling.knative.dev/"
        if let policy {
            annotations += autoscaling(policy)
        } else if fn.minInstances > 0 {
            annotations.append((prefix + "min-scale", String(fn.minInstances)))
        }
        if fn.idleTimeout != Function.defaultIdleTimeout {
            annotations.append((prefix + "scale-to-zero-pod-retention-period", "\(RenderSupport.seconds(fn.idleTimeout, in: 0...Int(Int32.max)).value)s"))
        }
        var container: [(String, ConfigValue)] = [("image", .string(image))]
        let variables = env.value(secret: secretName)
        if case .array(let items) = variables, !items.isEmpty { container.append(("env", variables)) }
        let memory: ConfigValue = .object([("memory", .string("\(fn.memory)Mi"))])
        container.append(("resources", .object([("requests", memory), ("limits", memory)])))
        var templateMetadata: [(String, ConfigValue)] = [("labels", labels(name))]
        if !annotations.isEmpty { templateMetadata.append(("annotations", .object(annotations.sorted { $0.0 < $1.0 }.map { ($0.0, ConfigValue.string($0.1)) }))) }
        let value: ConfigValue = .object([
            ("apiVersion", .string("serving.knative.dev/v1")), ("kind", .string("Service")),
            ("metadata", .object([("name", .string(name)), ("labels", labels(name))])),
            ("spec", .object([("template", .object([
                ("metadata", .object(templateMetadata)),
                ("spec", .object([
                    ("containerConcurrency", .int(fn.concurrency)),
                    ("timeoutSeconds", .int(RenderSupport.seconds(fn.timeout, in: 1...Int(Int32.max)).value)),
                    ("containers", .array([.object(container)])),
                ])),
            ]))])),
        ])
        return Rendering.Document(apiVersion: "serving.knative.dev/v1", kind: "Service", name: name, value: value)
    }

    /// Knative's autoscaling annotations from a function's policy: bounds, metric and target,
    /// and the scale-down window as the scale-down delay.
    private mutating func autoscaling(_ policy: ScalingPolicy) -> [(String, String)] {
        let path = KeyPath("scaling", policy.name)
        let prefix = "autoscaling.knative.dev/"
        var annotations = [(prefix + "min-scale", String(policy.minReplicas)), (prefix + "max-scale", String(policy.maxReplicas))]
        let (metric, target, linear) = RenderSupport.perReplicaTarget(policy)
        if linear {
            findings.warning(.approximated, RenderSupport.linearApproximation(policy, target: target, as: "Knative autoscaling target"), at: path / "linear", in: policy.range)
        }
        switch metric {
        case .concurrency:
            annotations += [(prefix + "metric", "concurrency"), (prefix + "target-utilization-percentage", String(Int((target * 100).rounded())))]
        case .inFlight:
            annotations += [(prefix + "metric", "concurrency"), (prefix + "target", RenderSupport.number(target))]
        case .requestsPerSecond:
            annotations += [(prefix + "metric", "rps"), (prefix + "target", RenderSupport.number(target))]
        case .cpu:
            annotations += [(prefix + "class", "hpa.autoscaling.knative.dev"), (prefix + "metric", "cpu"), (prefix + "target", String(Int((target * 100).rounded())))]
        }
        if let behavior = policy.behavior {
            if let window = behavior.scaleDown?.stabilizationWindow {
                annotations.append((prefix + "scale-down-delay", "\(RenderSupport.seconds(window, in: 0...3600).value)s"))
            }
            let dropped = [("scaleUp", behavior.scaleUp), ("scaleDown", behavior.scaleDown)].filter { side in
                guard let rules = side.1 else { return false }
                return !rules.policies.isEmpty || rules.selectPolicy != nil || (side.0 == "scaleUp" && rules.stabilizationWindow != nil)
            }
            for (side, _) in dropped {
                findings.warning(.notExpressible, "scaling policy '\(policy.name)': behavior.\(side) is not rendered for Knative except scaleDown.stabilizationWindow (as scale-down-delay)", at: path / "behavior" / side, in: policy.range)
            }
        }
        return annotations
    }

    // MARK: Values

    /// A container's environment as it is built: variables holding a secret for `$(…)`
    /// references come first, so that Kubernetes expands them in later values and in args.
    struct Environment {
        var references: Set<String> = []
        var whole: [(String, String)] = []
        var plain: [(String, String)] = []

        static func variable(_ secret: String) -> String { "KUMO_SECRET_" + secret }

        func value(secret: String) -> ConfigValue {
            func fromSecret(_ name: String, _ key: String) -> ConfigValue {
                .object([("name", .string(name)), ("valueFrom", .object([("secretKeyRef", .object([("name", .string(secret)), ("key", .string(key))]))]))])
            }
            var items = references.sorted().map { fromSecret(Environment.variable($0), $0) }
            var rest: [(String, ConfigValue)] = plain.map { ($0.0, .object([("name", .string($0.0)), ("value", .string($0.1))])) }
            rest += whole.map { ($0.0, fromSecret($0.0, $0.1)) }
            items += rest.sorted { $0.0 < $1.0 }.map { $0.1 }
            return .array(items)
        }
    }

    private mutating func environment(_ variables: [String: Text], port: Int?, services ports: [Int: String], into env: inout Environment, at path: KeyPath, in range: SourceRange) {
        for key in variables.keys.sorted() {
            let text = variables[key]!
            if text.parts.count == 1, case .secret(let name) = text.parts[0] {
                secrets.insert(name)
                env.whole.append((key, name))
            } else {
                env.plain.append((key, expand(text, port: port, services: ports, env: &env, at: path / key, in: range)))
            }
        }
    }

    /// A manifest string in a container: `$(` escaped, secrets as `$(KUMO_SECRET_NAME)`,
    /// `${port}` as the container port, a service's URL as its in-cluster DNS name.
    private mutating func expand(_ text: Text, port: Int?, services ports: [Int: String], env: inout Environment, at path: KeyPath, in range: SourceRange) -> String {
        var out = ""
        for part in text.parts {
            switch part {
            case .literal(let literal):
                let segments = RenderSupport.segments(literal, services: ports)
                if !ports.isEmpty, RenderSupport.holdsLocalAddress(segments) {
                    findings.warning(.localAddress, "'\(path)' holds the local address 127.0.0.1: only ${service:NAME.url} is rendered as the service's in-cluster address", at: path, in: range)
                }
                for segment in segments {
                    switch segment {
                    case .text(let s): out += s.utf8.contains(UInt8(ascii: "$")) ? s.replacing("$(", with: "$$(") : s
                    case .serviceURL(let name, let servicePort): out += "http://\(RenderSupport.kubernetesName(name) ?? name):\(servicePort)"
                    }
                }
            case .secret(let name):
                secrets.insert(name)
                env.references.insert(name)
                out += "$(\(Environment.variable(name)))"
            case .port:
                out += String(port ?? RenderSupport.defaultContainerPort)
            }
        }
        return out
    }
}
