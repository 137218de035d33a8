import KumoEvents
import KumoManifest

/// Renders a project as one AWS SAM template.
///
/// Functions become `AWS::Serverless::Function`s, rules `AWS::Events::Rule`s with the
/// permissions their function targets need, services ECS Fargate task definitions and services
/// behind one internal load balancer, scaling policies Application Auto Scaling targets and
/// target-tracking policies. Secrets are Secrets Manager dynamic references, never values.
/// A value type used once, by one thread.
struct SAMRenderer {
    let project: Project
    let options: RenderOptions
    private(set) var findings = Findings()
    private let services: [String: Service]
    private let functions: [String: Function]
    /// Addresses some scaling policy targets.
    private let scaled: Set<String>
    private var resources: [(String, ConfigValue)] = []
    /// Logical ID → the address that claimed it.
    private var claimed: [String: String] = [:]
    private var deadLetterRules: [String] = []
    private var needsDeadLetterQueue = false
    private var hasHTTPEvents = false

    /// Lambda runtimes the manifest's runtimes map to: current ones with the longest support.
    static let runtimes: [FunctionRuntime: String] = [.python3: "python3.13", .node: "nodejs22.x", .provided: "provided.al2023", .exec: "provided.al2023"]
    static let alias = "live"
    static let cluster = "Cluster"
    static let loadBalancer = "LoadBalancer"
    static let executionRole = "TaskExecutionRole"
    static let deadLetterQueue = "DeadLetterQueue"
    /// CloudFormation's quota of resources in one stack.
    static let stackResourceLimit = 500

    init(project: Project, options: RenderOptions) {
        self.project = project
        self.options = options
        self.services = project.servicesByName
        self.functions = Dictionary(project.functions.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.scaled = Set(project.scaling.map(\.target))
        resources.reserveCapacity(project.functions.count + 2 * project.rules.count + 5 * project.services.count + 2 * project.scaling.count + 8)
    }

    mutating func template() -> ConfigValue {
        renderFunctions()
        for rule in project.rules { self.rule(rule) }
        if !project.services.isEmpty { sharedServiceResources() }
        for service in project.services { self.service(service) }
        for policy in project.scaling { scaling(policy) }
        if needsDeadLetterQueue || !deadLetterRules.isEmpty { deadLetterQueue() }

        var top: [(String, ConfigValue)] = [
            ("AWSTemplateFormatVersion", .string("2010-09-09")),
            ("Transform", .string("AWS::Serverless-2016-10-31")),
            ("Description", .string("Project \(project.name) (stage \(project.stage)), rendered by kumo render --target sam")),
        ]
        if !project.services.isEmpty { top.append(("Parameters", networkParameters)) }
        if resources.count > SAMRenderer.stackResourceLimit {
            findings.warning(.stackLimit, "the template declares \(resources.count) resources (more after the SAM transform); CloudFormation deploys at most \(SAMRenderer.stackResourceLimit) per stack: split the project into several, or into nested stacks", at: KeyPath(), in: .synthetic)
        }
        top.append(("Resources", .object(resources)))
        var outputs: [(String, ConfigValue)] = []
        if hasHTTPEvents {
            outputs.append(("HttpApiUrl", .object([("Description", .string("Base URL of the functions' http triggers")),
                                                  ("Value", sub("https://${ServerlessHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"))])))
        }
        if hasLoadBalancer {
            outputs.append(("LoadBalancerDNSName", .object([("Description", .string("Internal address of the services (one listener per service port)")),
                                                           ("Value", getAtt(SAMRenderer.loadBalancer, "DNSName"))])))
        }
        if !outputs.isEmpty { top.append(("Outputs", .object(outputs))) }
        return .object(top)
    }

    // MARK: Functions

    /// Renders every function, in ranges on all cores for a large project: logical IDs are
    /// claimed first, in order, and each range's resources and findings are appended in order,
    /// so the template is the same as one rendered serially.
    private mutating func renderFunctions() {
        var ids: [String?] = []
        ids.reserveCapacity(project.functions.count)
        for fn in project.functions {
            let id = RenderSupport.pascalCase(fn.name) + "Function"
            ids.append(claim(id, fn.address, KeyPath("functions", fn.name), fn.range) ? id : nil)
        }
        let base = self, claimedIDs = ids
        let parts = Parallel.ranges(project.functions.count, minimum: 1024) { range in
            var worker = base
            worker.resources = []
            worker.findings = Findings()
            for i in range {
                if let id = claimedIDs[i] { worker.function(base.project.functions[i], id: id) }
            }
            return (worker.resources, worker.findings, worker.needsDeadLetterQueue, worker.hasHTTPEvents)
        }
        for (resources, findings, deadLetters, http) in parts {
            self.resources += resources
            self.findings.append(findings)
            needsDeadLetterQueue = needsDeadLetterQueue || deadLetters
            hasHTTPEvents = hasHTTPEvents || http
        }
    }

    private mutating func function(_ fn: Function, id: String) {
        let path = KeyPath("functions", fn.name)
        let ports = RenderSupport.referencedPorts(of: fn.address, in: project, services: services)
        var props: [(String, ConfigValue)] = []
        if let description = fn.description { props.append(("Description", .string(description))) }
        props.append(("Runtime", .string(SAMRenderer.runtimes[fn.runtime]!)))
        switch fn.runtime {
        case .python3, .node:
            props.append(("Handler", .string(fn.handler ?? "")))
        case .provided:
            props.append(("Handler", .string("bootstrap")))
            if !fn.command.isEmpty {
                findings.warning(.notExpressible, "'command' of function '\(fn.name)' is not rendered: Lambda runs the executable 'bootstrap' at the root of its code (runtime provided.al2023)", at: path / "command", in: fn.range)
            }
        case .exec:
            props.append(("Handler", .string("bootstrap")))
            let command = fn.command.map(\.description).joined(separator: " ")
            findings.warning(.execBootstrap, "function '\(fn.name)' (runtime exec) is rendered on provided.al2023: Lambda runs an executable 'bootstrap' from its code (or a layer), which must read each event from the Runtime API and run '\(command)' with it", at: path / "runtime", alternates: [KeyPath("defaults", "function", "runtime")], in: fn.range)
        }
        if let code = fn.code {
            props.append(("CodeUri", .string(options.codeRoot + code)))
        } else {
            props.append(("CodeUri", .string(options.codeRoot.isEmpty ? "." : options.codeRoot)))
            findings.warning(.notExpressible, "function '\(fn.name)' has no 'code': its CodeUri is the whole project directory", at: path, in: fn.range)
        }
        props.append(("MemorySize", .int(fn.memory)))
        let timeout = RenderSupport.seconds(fn.timeout, in: 1...900)
        if let change = timeout.change {
            findings.warning(.approximated, "'timeout' of function '\(fn.name)': Lambda takes whole seconds; \(change)", at: path / "timeout", alternates: [KeyPath("defaults", "function", "timeout")], in: fn.range)
        }
        props.append(("Timeout", .int(timeout.value)))
        if !fn.environment.isEmpty {
            let variables = fn.environment.keys.sorted().map { key in
                (key, value(fn.environment[key]!, port: nil, services: ports, at: path / "environment" / key, in: fn.range))
            }
            props.append(("Environment", .object([("Variables", .object(variables))])))
        }
        props.append(("ReservedConcurrentExecutions", .int(fn.concurrency)))
        if hasAlias(fn) {
            props.append(("AutoPublishAlias", .string(SAMRenderer.alias)))
            if fn.minInstances > 0 {
                props.append(("ProvisionedConcurrencyConfig", .object([("ProvisionedConcurrentExecutions", .int(fn.minInstances))])))
            }
        }
        if fn.idleTimeout != Function.defaultIdleTimeout {
            findings.warning(.notExpressible, "'idleTimeout' of function '\(fn.name)' is not rendered: Lambda stops idle execution environments on its own schedule", at: path / "idleTimeout", alternates: [KeyPath("defaults", "function", "idleTimeout")], in: fn.range)
        }
        if !ports.isEmpty {
            props.append(("VpcConfig", .object([("SubnetIds", ref("Subnets")), ("SecurityGroupIds", ref("SecurityGroups"))])))
        }
        if let config = fn.invokeConfig {
            var invoke: [(String, ConfigValue)] = [
                ("MaximumEventAgeInSeconds", .int(RenderSupport.seconds(config.maximumEventAge, in: 60...21600).value)),
                ("MaximumRetryAttempts", .int(config.maximumRetryAttempts)),
            ]
            if config.onFailure == .dlq {
                needsDeadLetterQueue = true
                invoke.append(("DestinationConfig", .object([("OnFailure", .object([("Type", .string("SQS")), ("Destination", getAtt(SAMRenderer.deadLetterQueue, "Arn"))]))])))
                props.append(("Policies", .array([.object([("SQSSendMessagePolicy", .object([("QueueName", getAtt(SAMRenderer.deadLetterQueue, "QueueName"))]))])])))
            }
            props.append(("EventInvokeConfig", .object(invoke)))
        }
        if !fn.events.isEmpty {
            var events: [(String, ConfigValue)] = []
            for (i, event) in fn.events.enumerated() {
                switch event {
                case .http(let method, let route):
                    hasHTTPEvents = true
                    events.append(("Http\(i)", .object([("Type", .string("HttpApi")), ("Properties", .object([("Method", .string(method)), ("Path", .string(route))]))])))
                case .schedule(let schedule):
                    events.append(("Schedule\(i)", .object([("Type", .string("Schedule")), ("Properties", .object([("Schedule", .string(schedule.expression))]))])))
                }
            }
            props.append(("Events", .object(events)))
        }
        add(id, type: "AWS::Serverless::Function", props)
    }

    /// A function gets the `live` alias when it keeps warm instances or is scaled: provisioned
    /// concurrency is set on an alias.
    private func hasAlias(_ fn: Function) -> Bool {
        fn.minInstances > 0 || scaled.contains(fn.address)
    }

    /// What invokes a function: its alias when it has one (so provisioned concurrency serves it).
    private func invocable(_ name: String) -> (arn: ConfigValue, name: ConfigValue)? {
        guard let fn = functions[name] else { return nil }
        let id = RenderSupport.pascalCase(fn.name) + "Function"
        if hasAlias(fn) { return (ref(id + ".Alias"), ref(id + ".Alias")) }
        return (getAtt(id, "Arn"), ref(id))
    }

    // MARK: Rules

    private mutating func rule(_ rule: Rule) {
        let path = KeyPath("rules", rule.name)
        let id = RenderSupport.pascalCase(rule.name) + "Rule"
        guard claim(id, rule.address, path, rule.range) else { return }
        var props: [(String, ConfigValue)] = []
        if let description = rule.description { props.append(("Description", .string(description))) }
        props.append(("State", .string(rule.enabled ? "ENABLED" : "DISABLED")))
        if let pattern = rule.pattern { props.append(("EventPattern", RenderSupport.verbatim(pattern.source))) }
        if let schedule = rule.schedule { props.append(("ScheduleExpression", .string(schedule.expression))) }
        var targets: [ConfigValue] = []
        for (i, target) in rule.targets.enumerated() {
            let targetPath = path / "targets" / i
            guard target.kind == .function, let function = invocable(target.name) else {
                findings.warning(.notRendered, "target \(i) of rule '\(rule.name)' (service '\(target.name)') is not rendered: EventBridge reaches HTTP endpoints only through an API destination, which needs a public HTTPS endpoint and a connection with credentials; add them to the template by hand", at: targetPath, in: rule.range)
                continue
            }
            var t: [(String, ConfigValue)] = [("Id", .string(Self.targetID(i, target))), ("Arn", function.arn)]
            if let transformer = target.inputTransformer {
                t.append(("InputTransformer", .object([
                    ("InputPathsMap", .object(transformer.inputPathsMap.keys.sorted().map { ($0, .string(transformer.inputPathsMap[$0]!)) })),
                    ("InputTemplate", .string(transformer.inputTemplate)),
                ])))
            }
            if let input = target.input { t.append(("Input", .string(input))) }
            if let inputPath = target.inputPath { t.append(("InputPath", .string(inputPath))) }
            t.append(("RetryPolicy", .object([
                ("MaximumRetryAttempts", .int(rule.retryPolicy.maximumRetryAttempts)),
                ("MaximumEventAgeInSeconds", .int(RenderSupport.seconds(rule.retryPolicy.maximumEventAge, in: 60...86400).value)),
            ])))
            if rule.deadLetter { t.append(("DeadLetterConfig", .object([("Arn", getAtt(SAMRenderer.deadLetterQueue, "Arn"))]))) }
            targets.append(.object(t))
            let permission = id + "Target\(i)Permission"
            if claim(permission, rule.address, targetPath, rule.range) {
                add(permission, type: "AWS::Lambda::Permission", [
                    ("Action", .string("lambda:InvokeFunction")),
                    ("FunctionName", function.name),
                    ("Principal", .string("events.amazonaws.com")),
                    ("SourceArn", getAtt(id, "Arn")),
                ])
            }
        }
        if !targets.isEmpty { props.append(("Targets", .array(targets))) }
        if rule.deadLetter { deadLetterRules.append(id) }
        add(id, type: "AWS::Events::Rule", props)
    }

    /// A target ID EventBridge accepts (`[.-_A-Za-z0-9]`, at most 64): `0-function-notifyCustomer`.
    static func targetID(_ index: Int, _ target: RuleTarget) -> String {
        String("\(index)-\(target.kind.rawValue)-\(target.name)".prefix(64))
    }

    // MARK: Services

    private var hasLoadBalancer: Bool { project.services.contains { $0.port != nil } }

    private var networkParameters: ConfigValue {
        .object([
            ("VpcId", .object([("Type", .string("AWS::EC2::VPC::Id")), ("Description", .string("VPC of the services and their load balancer"))])),
            ("Subnets", .object([("Type", .string("List<AWS::EC2::Subnet::Id>")), ("Description", .string("Subnets (two or more zones) of the tasks, the load balancer and functions that call services"))])),
            ("SecurityGroups", .object([("Type", .string("List<AWS::EC2::SecurityGroup::Id>")), ("Description", .string("Security groups of the tasks, the load balancer and functions that call services; they must allow the service ports between them"))])),
            ("AssignPublicIp", .object([("Type", .string("String")), ("Default", .string("DISABLED")), ("AllowedValues", .array([.string("ENABLED"), .string("DISABLED")])),
                                        ("Description", .string("ENABLED when the subnets are public and have no NAT (tasks must reach the image registry)"))])),
        ])
    }

    private mutating func sharedServiceResources() {
        let shared = KeyPath("services")
        let range = project.services[0].range
        if claim(SAMRenderer.cluster, "services", shared, range) {
            add(SAMRenderer.cluster, type: "AWS::ECS::Cluster", [("ClusterName", sub("${AWS::StackName}-\(project.name)"))])
        }
        if claim(SAMRenderer.executionRole, "services", shared, range) {
            add(SAMRenderer.executionRole, type: "AWS::IAM::Role", [
                ("AssumeRolePolicyDocument", .object([
                    ("Version", .string("2012-10-17")),
                    ("Statement", .array([.object([("Effect", .string("Allow")), ("Principal", .object([("Service", .string("ecs-tasks.amazonaws.com"))])), ("Action", .string("sts:AssumeRole"))])])),
                ])),
                ("ManagedPolicyArns", .array([sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")])),
            ])
        }
        if hasLoadBalancer, claim(SAMRenderer.loadBalancer, "services", shared, range) {
            add(SAMRenderer.loadBalancer, type: "AWS::ElasticLoadBalancingV2::LoadBalancer", [
                ("Type", .string("application")), ("Scheme", .string("internal")),
                ("Subnets", ref("Subnets")), ("SecurityGroups", ref("SecurityGroups")),
            ])
        }
    }

    private mutating func service(_ s: Service) {
        let path = KeyPath("services", s.name)
        let base = RenderSupport.pascalCase(s.name)
        guard let image = s.image else {
            findings.error(.missingImage, "service '\(s.name)' has no 'image': kumo render needs the container image that runs it (the local runtime runs 'command')", at: path, in: s.range)
            return
        }
        guard let size = FargateSize.fitting(cpu: s.resources.cpu, memory: s.resources.memory) else {
            findings.error(.unsupportedSize, "resources of service '\(s.name)' (\(RenderSupport.number(s.resources.cpu)) vCPU, \(s.resources.memory) MB) exceed Fargate's largest task (16 vCPU / 122880 MB)", at: path / "resources", alternates: [KeyPath("defaults", "service", "resources")], in: s.range)
            return
        }
        if Double(size.cpu) != s.resources.cpu * 1024 || size.memory != s.resources.memory {
            findings.warning(.approximated, "resources of service '\(s.name)' (\(RenderSupport.number(s.resources.cpu)) vCPU, \(s.resources.memory) MB) are rounded up to the smallest Fargate size that holds them: \(size.description)", at: path / "resources", alternates: [KeyPath("defaults", "service", "resources")], in: s.range)
        }
        if s.restart == .no {
            findings.warning(.notExpressible, "'restart: no' of service '\(s.name)' is not rendered: an ECS service always replaces stopped tasks", at: path / "restart", alternates: [KeyPath("defaults", "service", "restart")], in: s.range)
        }
        let port = RenderSupport.containerPort(s)
        let ports = RenderSupport.referencedPorts(of: s.address, in: project, services: services)
        var container: [(String, ConfigValue)] = [("Name", .string(s.name)), ("Image", .string(image)), ("Essential", .bool(true))]
        container.append(("Command", .array(s.command.enumerated().map { i, arg in value(arg, port: port, services: ports, at: path / "command" / i, in: s.range) })))
        container.append(("PortMappings", .array([.object([("ContainerPort", .int(port)), ("Protocol", .string("tcp"))])])))
        var environment: [ConfigValue] = [.object([("Name", .string("PORT")), ("Value", .string(String(port)))])]
        for key in s.environment.keys.sorted() {
            environment.append(.object([("Name", .string(key)), ("Value", value(s.environment[key]!, port: port, services: ports, at: path / "environment" / key, in: s.range))]))
        }
        container.append(("Environment", .array(environment)))
        if let check = s.healthcheck, let health = containerHealthCheck(check, service: s, port: port, ports: ports) {
            container.append(("HealthCheck", health))
        }
        let stop = RenderSupport.seconds(s.stopGracePeriod, in: 2...120)
        if let change = stop.change {
            findings.warning(.approximated, "'stopGracePeriod' of service '\(s.name)': ECS takes 2–120 whole seconds; \(change)", at: path / "stopGracePeriod", alternates: [KeyPath("defaults", "service", "stopGracePeriod")], in: s.range)
        }
        container.append(("StopTimeout", .int(stop.value)))

        let taskID = base + "TaskDefinition", serviceID = base + "Service", groupID = base + "TargetGroup", listenerID = base + "Listener"
        guard claim(taskID, s.address, path, s.range), claim(serviceID, s.address, path, s.range) else { return }
        add(taskID, type: "AWS::ECS::TaskDefinition", [
            ("Family", .string("\(project.name)-\(s.name)")),
            ("RequiresCompatibilities", .array([.string("FARGATE")])),
            ("NetworkMode", .string("awsvpc")),
            ("Cpu", .string(String(size.cpu))),
            ("Memory", .string(String(size.memory))),
            ("ExecutionRoleArn", getAtt(SAMRenderer.executionRole, "Arn")),
            ("ContainerDefinitions", .array([.object(container)])),
        ])
        var dependsOn: [String] = []
        var props: [(String, ConfigValue)] = [
            ("Cluster", ref(SAMRenderer.cluster)),
            ("LaunchType", .string("FARGATE")),
            ("DesiredCount", .int(s.replicas)),
            ("TaskDefinition", ref(taskID)),
            ("NetworkConfiguration", .object([("AwsvpcConfiguration", .object([
                ("AssignPublicIp", ref("AssignPublicIp")), ("SecurityGroups", ref("SecurityGroups")), ("Subnets", ref("Subnets")),
            ]))])),
        ]
        if let front = s.port, claim(groupID, s.address, path, s.range), claim(listenerID, s.address, path, s.range) {
            add(groupID, type: "AWS::ElasticLoadBalancingV2::TargetGroup", targetGroup(s, port: front))
            add(listenerID, type: "AWS::ElasticLoadBalancingV2::Listener", [
                ("LoadBalancerArn", ref(SAMRenderer.loadBalancer)),
                ("Port", .int(front)),
                ("Protocol", .string("HTTP")),
                ("DefaultActions", .array([.object([("Type", .string("forward")), ("TargetGroupArn", ref(groupID))])])),
            ])
            props.append(("LoadBalancers", .array([.object([("ContainerName", .string(s.name)), ("ContainerPort", .int(port)), ("TargetGroupArn", ref(groupID))])])))
            if let check = s.healthcheck {
                props.append(("HealthCheckGracePeriodSeconds", .int(RenderSupport.seconds(check.startPeriod, in: 0...2_147_483_647).value)))
            }
            dependsOn.append(listenerID)
        }
        // CloudFormation creates a dependency's ECS service first and waits until it is stable
        // (its tasks healthy behind the load balancer): the order `dependsOn` asks for.
        dependsOn += s.dependsOn.keys.sorted().map { RenderSupport.pascalCase($0) + "Service" }
        add(serviceID, type: "AWS::ECS::Service", props, dependsOn: dependsOn)
    }

    private mutating func containerHealthCheck(_ check: Healthcheck, service s: Service, port: Int, ports: [Int: String]) -> ConfigValue? {
        let path = KeyPath("services", s.name, "healthcheck")
        let command: ConfigValue
        switch check.probe {
        case .http(let route):
            let url = "http://localhost:\(port)" + route
            command = .array([.string("CMD-SHELL"), .string("curl -fsS '\(url.replacing("'", with: "'\\''"))' >/dev/null || exit 1")])
        case .tcp:
            findings.warning(.approximated, "the tcp healthcheck of service '\(s.name)' has no ECS container equivalent: only the load balancer checks the service, with HTTP GET / and any answer below 500 counted as healthy", at: path / "tcp", in: s.range)
            return nil
        case .exec(let argv):
            command = .array([.string("CMD")] + argv.enumerated().map { i, arg in value(arg, port: port, services: ports, at: path / "exec" / i, in: s.range) })
        }
        func fit(_ duration: KumoManifest.Duration, _ key: String, _ range: ClosedRange<Int>) -> Int {
            let fitted = RenderSupport.seconds(duration, in: range)
            if let change = fitted.change {
                findings.warning(.approximated, "'\(key)' of the healthcheck of service '\(s.name)': ECS container health checks take \(range.lowerBound)–\(range.upperBound) whole seconds; \(change)", at: path / key, in: s.range)
            }
            return fitted.value
        }
        let retries = min(max(check.retries, 1), 10)
        if retries != check.retries {
            findings.warning(.approximated, "'retries' of the healthcheck of service '\(s.name)': ECS takes 1–10; rendered as \(retries)", at: path / "retries", in: s.range)
        }
        return .object([
            ("Command", command),
            ("Interval", .int(fit(check.interval, "interval", 5...300))),
            ("Timeout", .int(fit(check.timeout, "timeout", 2...60))),
            ("Retries", .int(retries)),
            ("StartPeriod", .int(fit(check.startPeriod, "startPeriod", 0...300))),
        ])
    }

    /// The load balancer's target group of a service: its health check follows the service's
    /// healthcheck within the load balancer's bounds (interval 5–300 s, timeout 2–120 s and
    /// below the interval, 2–10 failures).
    private func targetGroup(_ s: Service, port: Int) -> [(String, ConfigValue)] {
        var props: [(String, ConfigValue)] = [
            ("TargetType", .string("ip")), ("Protocol", .string("HTTP")), ("Port", .int(port)), ("VpcId", ref("VpcId")),
        ]
        if let check = s.healthcheck {
            if case .http(let route) = check.probe { props.append(("HealthCheckPath", .string(route))) } else { props.append(("Matcher", .object([("HttpCode", .string("200-499"))]))) }
            let interval = RenderSupport.seconds(check.interval, in: 5...300).value
            props.append(("HealthCheckIntervalSeconds", .int(interval)))
            props.append(("HealthCheckTimeoutSeconds", .int(min(RenderSupport.seconds(check.timeout, in: 2...120).value, interval - 1))))
            props.append(("UnhealthyThresholdCount", .int(min(max(check.retries, 2), 10))))
        }
        return props
    }

    // MARK: Scaling

    private mutating func scaling(_ policy: ScalingPolicy) {
        let path = KeyPath("scaling", policy.name)
        guard let (kind, name) = ResourceKind.parse(address: policy.target) else { return }
        let base = RenderSupport.pascalCase(policy.name)
        let targetID = base + "ScalableTarget", policyID = base + "ScalingPolicy"
        var target: [(String, ConfigValue)] = [("MinCapacity", .int(policy.minReplicas)), ("MaxCapacity", .int(policy.maxReplicas))]
        var dependsOn: [String] = []
        let predefined: String?
        var resourceLabel: ConfigValue?
        let (metric, perReplica, linear) = RenderSupport.perReplicaTarget(policy)
        var value = perReplica
        switch kind {
        case .service:
            guard let s = services[name], s.image != nil else { return }  // its error is reported with the service
            let serviceID = RenderSupport.pascalCase(name) + "Service"
            target += [("ResourceId", sub("service/${\(SAMRenderer.cluster)}/${\(serviceID).Name}")),
                       ("ScalableDimension", .string("ecs:service:DesiredCount")), ("ServiceNamespace", .string("ecs"))]
            switch metric {
            case .cpu:
                predefined = "ECSServiceAverageCPUUtilization"
                value = perReplica * 100
            case .requestsPerSecond where s.port != nil:
                predefined = "ALBRequestCountPerTarget"
                value = perReplica * 60
                let group = RenderSupport.pascalCase(name) + "TargetGroup"
                resourceLabel = sub("${\(SAMRenderer.loadBalancer).LoadBalancerFullName}/${\(group).TargetGroupFullName}")
            default:
                predefined = nil
            }
        case .function:
            guard functions[name] != nil else { return }
            let functionID = RenderSupport.pascalCase(name) + "Function"
            target += [("ResourceId", sub("function:${\(functionID)}:\(SAMRenderer.alias)")),
                       ("ScalableDimension", .string("lambda:function:ProvisionedConcurrency")), ("ServiceNamespace", .string("lambda"))]
            dependsOn.append(functionID + "Alias" + SAMRenderer.alias)
            predefined = metric == .concurrency ? "LambdaProvisionedConcurrencyUtilization" : nil
        case .scaling, .rule:
            return
        }
        guard claim(targetID, policy.address, path, policy.range) else { return }
        add(targetID, type: "AWS::ApplicationAutoScaling::ScalableTarget", target, dependsOn: dependsOn)
        guard let predefined else {
            let available = kind == .service ? "cpu, or requestsPerSecond for a service with a port" : "concurrency (provisioned concurrency utilization)"
            findings.warning(.notRendered, "scaling policy '\(policy.name)': metric \(metric.rawValue) has no Application Auto Scaling equivalent for a \(kind.rawValue) (\(available)); only its min and max replicas are rendered", at: path / (linear ? "linear" : "targetTracking"), in: policy.range)
            return
        }
        if linear {
            findings.warning(.approximated, RenderSupport.linearApproximation(policy, target: perReplica, as: "target-tracking policy"), at: path / "linear", in: policy.range)
        }
        var metricSpec: [(String, ConfigValue)] = [("PredefinedMetricType", .string(predefined))]
        if let resourceLabel { metricSpec.append(("ResourceLabel", resourceLabel)) }
        var configuration: [(String, ConfigValue)] = [("PredefinedMetricSpecification", .object(metricSpec)), ("TargetValue", .double(value))]
        if let behavior = policy.behavior {
            // Cooldowns are the nearest AWS setting to the stabilization windows; rate policies have none.
            if let window = behavior.scaleDown?.stabilizationWindow { configuration.append(("ScaleInCooldown", .int(RenderSupport.seconds(window, in: 0...Int(Int32.max)).value))) }
            if let window = behavior.scaleUp?.stabilizationWindow { configuration.append(("ScaleOutCooldown", .int(RenderSupport.seconds(window, in: 0...Int(Int32.max)).value))) }
            for (side, rules) in [("scaleUp", behavior.scaleUp), ("scaleDown", behavior.scaleDown)] {
                guard let rules, !rules.policies.isEmpty || rules.selectPolicy != nil else { continue }
                findings.warning(.notExpressible, "scaling policy '\(policy.name)': behavior.\(side) rate policies and selectPolicy are not rendered: Application Auto Scaling has only cooldowns (the stabilization windows are rendered as them)", at: path / "behavior" / side, in: policy.range)
            }
        }
        guard claim(policyID, policy.address, path, policy.range) else { return }
        add(policyID, type: "AWS::ApplicationAutoScaling::ScalingPolicy", [
            ("PolicyName", .string(policy.name)),
            ("PolicyType", .string("TargetTrackingScaling")),
            ("ScalingTargetId", ref(targetID)),
            ("TargetTrackingScalingPolicyConfiguration", .object(configuration)),
        ])
    }

    // MARK: Dead letters

    private mutating func deadLetterQueue() {
        let id = SAMRenderer.deadLetterQueue
        guard claim(id, "kumo", KeyPath(), .synthetic) else { return }
        add(id, type: "AWS::SQS::Queue", [("MessageRetentionPeriod", .int(1_209_600))])
        guard !deadLetterRules.isEmpty, claim(id + "Policy", "kumo", KeyPath(), .synthetic) else { return }
        add(id + "Policy", type: "AWS::SQS::QueuePolicy", [
            ("Queues", .array([ref(id)])),
            ("PolicyDocument", .object([
                ("Version", .string("2012-10-17")),
                ("Statement", .array([.object([
                    ("Effect", .string("Allow")),
                    ("Principal", .object([("Service", .string("events.amazonaws.com"))])),
                    ("Action", .string("sqs:SendMessage")),
                    ("Resource", getAtt(id, "Arn")),
                    ("Condition", .object([("ArnEquals", .object([("aws:SourceArn", .array(deadLetterRules.map { getAtt($0, "Arn") }))]))])),
                ])])),
            ])),
        ])
    }

    // MARK: Values

    /// A manifest string on AWS: secrets as Secrets Manager dynamic references
    /// (`{{resolve:secretsmanager:PROJECT/NAME}}`), `${port}` as the container port, a
    /// service's URL through the load balancer (`Fn::Sub`).
    private mutating func value(_ text: Text, port: Int?, services ports: [Int: String], at path: KeyPath, in range: SourceRange) -> ConfigValue {
        var plain = ""
        var substituted = ""
        var usesSub = false
        for part in text.parts {
            switch part {
            case .literal(let literal):
                let segments = RenderSupport.segments(literal, services: ports)
                if !ports.isEmpty, RenderSupport.holdsLocalAddress(segments) {
                    findings.warning(.localAddress, "'\(path)' holds the local address 127.0.0.1: only ${service:NAME.url} is rendered as the service's address on AWS", at: path, in: range)
                }
                for segment in segments {
                    switch segment {
                    case .text(let s):
                        plain += s
                        // Only a text holding a service URL becomes Fn::Sub; the others never read `substituted`.
                        if !ports.isEmpty { substituted += RenderSupport.escapingSub(s) }
                    case .serviceURL(_, let servicePort):
                        usesSub = true
                        substituted += "http://${\(SAMRenderer.loadBalancer).DNSName}:\(servicePort)"
                    }
                }
            case .secret(let name):
                let reference = "{{resolve:secretsmanager:\(project.name)/\(name)}}"
                plain += reference
                substituted += reference
            case .port:
                let s = String(port ?? RenderSupport.defaultContainerPort)
                plain += s
                substituted += s
            }
        }
        return usesSub ? sub(substituted) : .string(plain)
    }

    private func ref(_ id: String) -> ConfigValue { .object([("Ref", .string(id))]) }
    private func getAtt(_ id: String, _ attribute: String) -> ConfigValue { .object([("Fn::GetAtt", .array([.string(id), .string(attribute)]))]) }
    private func sub(_ text: String) -> ConfigValue { .object([("Fn::Sub", .string(text))]) }

    private mutating func add(_ id: String, type: String, _ properties: [(String, ConfigValue)], dependsOn: [String] = []) {
        var resource: [(String, ConfigValue)] = [("Type", .string(type))]
        if !dependsOn.isEmpty { resource.append(("DependsOn", .array(dependsOn.map(ConfigValue.string)))) }
        if !properties.isEmpty { resource.append(("Properties", .object(properties))) }
        resources.append((id, .object(resource)))
    }

    /// Reserves a logical ID for `address`; two names that read the same in PascalCase
    /// (`big-order`, `big_order`) are an error.
    private mutating func claim(_ id: String, _ address: String, _ path: KeyPath, _ range: SourceRange) -> Bool {
        if let owner = claimed[id], owner != address {
            findings.error(.nameCollision, "\(address) and \(owner) both render as the logical ID '\(id)'; rename one", at: path, in: range)
            return false
        }
        claimed[id] = address
        return true
    }
}

extension String {
    /// Stable IDs of the renderers' findings.
    static let missingImage = "render-missing-image"
    static let unsupportedSize = "render-unsupported-size"
    static let nameCollision = "render-name-collision"
    static let notRendered = "render-not-rendered"
    static let notExpressible = "render-not-expressible"
    static let approximated = "render-approximated"
    static let localAddress = "render-local-address"
    static let execBootstrap = "render-exec-bootstrap"
    static let stackLimit = "render-stack-limit"
}
