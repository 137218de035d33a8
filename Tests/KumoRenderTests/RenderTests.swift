import Foundation
import KumoManifest
@testable import KumoRender
import KumoTestSupport
import Testing

/// One test per mapping rule of `kumo render`, on small manifests loaded from disk (so findings
/// carry real positions), and the examples against golden files.
@Suite struct RenderTests {
    struct Loaded {
        var project: Project
        var sources: RenderSources
        var path: String
    }

    /// Loads `yaml` as `kumo.yaml` in a fresh directory with an empty `src/` for `code:`.
    static func load(_ yaml: String, environment: [String: String] = [:]) throws -> Loaded {
        let directory = try Support.temporaryDirectory("kumo-render")
        try FileManager.default.createDirectory(atPath: directory + "/src", withIntermediateDirectories: true)
        let path = directory + "/kumo.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let result = ProjectLoader.load(paths: [path], options: LoadOptions(environment: environment))
        guard let project = result.project else { throw SupportError("does not load: \(result.diagnostics)") }
        return Loaded(project: project, sources: RenderSources(result), path: path)
    }

    static func sam(_ yaml: String, options: RenderOptions = RenderOptions()) throws -> (ConfigValue, Rendering, Loaded) {
        let loaded = try load(yaml)
        let rendering = Render.sam(loaded.project, sources: loaded.sources, options: options)
        return (rendering.documents.first?.value ?? .null, rendering, loaded)
    }

    static func kubernetes(_ yaml: String) throws -> (Rendering, Loaded) {
        let loaded = try load(yaml)
        return (Render.kubernetes(loaded.project, sources: loaded.sources), loaded)
    }

    static let header = "version: 1\nproject: p\n"

    static let services = header + """
        services:
          api:
            command: ["./api", "--port", "${port}"]
            image: p/api:1
            port: 8081
            resources: { cpu: 0.5, memory: 256 }
            healthcheck: { http: /healthz, interval: 5s, timeout: 1s, retries: 3, startPeriod: 2s }
            dependsOn: { orders: { condition: healthy }, cache: { condition: started } }
          orders:
            command: ["./orders", "--port", "${port}"]
            image: p/orders:1
            port: 8082
            healthcheck: { http: /ready, interval: 1500ms, timeout: 1s }
          cache:
            command: ["./cache"]
            image: p/cache:1
            port: 8083
            healthcheck: { tcp: true }
        """

    // MARK: Kubernetes

    @Test func probesComeFromTheHealthcheck() throws {
        let (rendering, loaded) = try Self.kubernetes(Self.services)
        let api = try #require(rendering.documents.first { $0.kind == "Deployment" && $0.name == "api" })
        let container = api.value["spec"]?["template"]?["spec"]?["containers"]?[0]
        let expected: ConfigValue = .object([
            ("httpGet", .object([("path", .string("/healthz")), ("port", .int(8081))])),
            ("initialDelaySeconds", .int(2)), ("periodSeconds", .int(5)), ("timeoutSeconds", .int(1)), ("failureThreshold", .int(3)),
        ])
        #expect(container?["readinessProbe"] == expected)
        #expect(container?["livenessProbe"] == expected)
        let cache = try #require(rendering.documents.first { $0.kind == "Deployment" && $0.name == "cache" })
        #expect(cache.value["spec"]?["template"]?["spec"]?["containers"]?[0]?["readinessProbe"]?["tcpSocket"] == .object([("port", .int(8083))]))
        // 1500ms has no whole-second form: rounded up, with a warning at the interval.
        let orders = try #require(rendering.documents.first { $0.kind == "Deployment" && $0.name == "orders" })
        #expect(orders.value["spec"]?["template"]?["spec"]?["containers"]?[0]?["readinessProbe"]?["periodSeconds"] == .int(2))
        let warning = try #require(rendering.diagnostics.first { $0.keyPath == "services.orders.healthcheck.interval" })
        #expect(warning.id == "render-approximated" && warning.severity == .warning && warning.file == loaded.path && warning.line == 15, "\(warning)")
    }

    @Test func argsPortsResourcesAndGracePeriod() throws {
        let (rendering, _) = try Self.kubernetes(Self.services)
        let api = try #require(rendering.documents.first { $0.kind == "Deployment" && $0.name == "api" })
        let pod = api.value["spec"]?["template"]?["spec"]
        let container = pod?["containers"]?[0]
        #expect(container?["args"] == .array([.string("./api"), .string("--port"), .string("8081")]))
        #expect(container?["ports"]?[0]?["containerPort"] == .int(8081))
        #expect(container?["resources"]?["requests"] == .object([("cpu", .string("500m")), ("memory", .string("256Mi"))]))
        #expect(container?["resources"]?["limits"] == container?["resources"]?["requests"])
        #expect(pod?["terminationGracePeriodSeconds"] == .int(10))
        let labels = api.value["metadata"]?["labels"]
        #expect(labels == .object([("app.kubernetes.io/name", .string("api")), ("app.kubernetes.io/part-of", .string("p")), ("app.kubernetes.io/managed-by", .string("kumo"))]))
        let service = try #require(rendering.documents.first { $0.kind == "Service" && $0.name == "api" })
        #expect(service.value["spec"]?["ports"]?[0]?["port"] == .int(8081))
    }

    @Test func healthyDependencyBecomesAnInitContainer() throws {
        let (rendering, loaded) = try Self.kubernetes(Self.services)
        let api = try #require(rendering.documents.first { $0.kind == "Deployment" && $0.name == "api" })
        let inits = api.value["spec"]?["template"]?["spec"]?["initContainers"]
        #expect(inits == .array([.object([
            ("name", .string("wait-for-orders")), ("image", .string("busybox:1.36")),
            ("command", .array([.string("sh"), .string("-c"), .string("until wget -q -O /dev/null 'http://orders:8082/ready'; do echo waiting for orders; sleep 2; done")])),
        ])]))
        // `started` has no Kubernetes form: a warning at that dependency, not a silent drop.
        let started = try #require(rendering.diagnostics.first { $0.keyPath == "services.api.dependsOn.cache" })
        #expect(started.id == "render-not-expressible" && started.file == loaded.path && started.line == 10, "\(started)")
    }

    static let scaled = header + """
        services:
          api:
            command: ["./api"]
            image: p/api:1
            port: 8081
        scaling:
          api-load:
            target: service.api
            minReplicas: 0
            maxReplicas: 10
            targetTracking: { metric: cpu, target: 0.6 }
            behavior:
              scaleUp:
                stabilizationWindow: 30s
                policies: [ { type: percent, value: 100, period: 15s }, { type: replicas, value: 4, period: 1m } ]
                selectPolicy: max
              scaleDown: { stabilizationWindow: 5m, policies: [ { type: replicas, value: 1, period: 60s } ], selectPolicy: disabled }
        """

    @Test func hpaCarriesBehaviorFieldByField() throws {
        let (rendering, loaded) = try Self.kubernetes(Self.scaled)
        let hpa = try #require(rendering.documents.first { $0.kind == "HorizontalPodAutoscaler" })
        #expect(hpa.apiVersion == "autoscaling/v2")
        let spec = hpa.value["spec"]
        #expect(spec?["behavior"] == .object([
            ("scaleUp", .object([
                ("stabilizationWindowSeconds", .int(30)), ("selectPolicy", .string("Max")),
                ("policies", .array([
                    .object([("type", .string("Percent")), ("value", .int(100)), ("periodSeconds", .int(15))]),
                    .object([("type", .string("Pods")), ("value", .int(4)), ("periodSeconds", .int(60))]),
                ])),
            ])),
            ("scaleDown", .object([
                ("stabilizationWindowSeconds", .int(300)), ("selectPolicy", .string("Disabled")),
                ("policies", .array([.object([("type", .string("Pods")), ("value", .int(1)), ("periodSeconds", .int(60))])])),
            ])),
        ]))
        #expect(spec?["metrics"]?[0]?["resource"]?["target"] == .object([("type", .string("Utilization")), ("averageUtilization", .int(60))]))
        #expect(spec?["scaleTargetRef"]?["name"] == .string("api"))
        // minReplicas 0 needs an alpha feature gate: rendered as 1, with a warning at the field.
        #expect(spec?["minReplicas"] == .int(1))
        let warning = try #require(rendering.diagnostics.first { $0.keyPath == "scaling.api-load.minReplicas" })
        #expect(warning.line == 11 && warning.file == loaded.path, "\(warning)")
    }

    @Test func linearIsTheClosestTargetWithAWarning() throws {
        let yaml = Self.header + """
            services:
              api: { command: ["./api"], image: "p/api:1", port: 8081 }
            scaling:
              api-load: { target: service.api, minReplicas: 1, maxReplicas: 10, linear: { metric: requestsPerSecond, maxLoad: 200 } }
            """
        let (rendering, _) = try Self.kubernetes(yaml)
        let hpa = try #require(rendering.documents.first { $0.kind == "HorizontalPodAutoscaler" })
        #expect(hpa.value["spec"]?["metrics"]?[0]?["pods"]?["target"]?["averageValue"] == .string("20"))
        #expect(rendering.diagnostics.contains { $0.keyPath == "scaling.api-load.linear" && $0.message.contains("requestsPerSecond 20 per replica") })
        let (template, sam, _) = try Self.sam(yaml)
        let policy = template["Resources"]?["ApiLoadScalingPolicy"]?["Properties"]?["TargetTrackingScalingPolicyConfiguration"]
        #expect(policy?["TargetValue"] == .double(1200))  // 20 requests per second per target = 1,200 per minute
        #expect(policy?["PredefinedMetricSpecification"]?["PredefinedMetricType"] == .string("ALBRequestCountPerTarget"))
        #expect(sam.diagnostics.contains { $0.keyPath == "scaling.api-load.linear" })
    }

    @Test func secretsAreReferencesNeverValues() throws {
        let yaml = Self.header + """
            functions:
              f:
                runtime: python3
                handler: app.handler
                code: src
                image: p/f:1
                environment: { API_KEY: "${secret:API_KEY}", AUTH: "Bearer ${secret:TOKEN}", PLAIN: "a $(b)" }
            """
        let loaded = try Self.load(yaml, environment: ["API_KEY": "s3cr3t-value", "TOKEN": "t0ken-value"])
        let k8s = Render.kubernetes(loaded.project, sources: loaded.sources)
        let sam = Render.sam(loaded.project, sources: loaded.sources)
        for text in [k8s.text, sam.text] {
            #expect(!text.contains("s3cr3t-value") && !text.contains("t0ken-value"))
        }
        let variables = sam.documents[0].value["Resources"]?["FFunction"]?["Properties"]?["Environment"]?["Variables"]
        #expect(variables?["API_KEY"] == .string("{{resolve:secretsmanager:p/API_KEY}}"))
        #expect(variables?["AUTH"] == .string("Bearer {{resolve:secretsmanager:p/TOKEN}}"))
        let secret = try #require(k8s.documents.first { $0.kind == "Secret" })
        #expect(k8s.documents.first?.kind == "Secret")
        #expect(secret.value["stringData"] == .object([("API_KEY", .string("")), ("TOKEN", .string(""))]))
        let knative = try #require(k8s.documents.first { $0.apiVersion == "serving.knative.dev/v1" })
        let env = knative.value["spec"]?["template"]?["spec"]?["containers"]?[0]?["env"]
        func ref(_ name: String, _ key: String) -> ConfigValue {
            .object([("name", .string(name)), ("valueFrom", .object([("secretKeyRef", .object([("name", .string("p-secrets")), ("key", .string(key))]))]))])
        }
        // The helper for $(…) comes first, so Kubernetes expands it in later values; a literal $( is escaped.
        #expect(env == .array([
            ref("KUMO_SECRET_TOKEN", "TOKEN"),
            ref("API_KEY", "API_KEY"),
            .object([("name", .string("AUTH")), ("value", .string("Bearer $(KUMO_SECRET_TOKEN)"))]),
            .object([("name", .string("PLAIN")), ("value", .string("a $$(b)"))]),
        ]))
    }

    @Test func serviceURLsBecomeTheTargetsAddresses() throws {
        let yaml = Self.header + """
            functions:
              f: { runtime: python3, handler: app.handler, code: src, image: "p/f:1", environment: { ORDERS: "${service:orders.url}/v1" } }
            services:
              orders: { command: ["./orders"], image: "p/orders:1", port: 8082 }
            """
        let (k8s, _) = try Self.kubernetes(yaml)
        let knative = try #require(k8s.documents.first { $0.apiVersion == "serving.knative.dev/v1" })
        #expect(knative.value["spec"]?["template"]?["spec"]?["containers"]?[0]?["env"]?[0]?["value"] == .string("http://orders:8082/v1"))
        let (template, _, _) = try Self.sam(yaml)
        let function = template["Resources"]?["FFunction"]?["Properties"]
        #expect(function?["Environment"]?["Variables"]?["ORDERS"] == .object([("Fn::Sub", .string("http://${LoadBalancer.DNSName}:8082/v1"))]))
        #expect(function?["VpcConfig"] != nil)
    }

    @Test func functionsWithoutImageAndRulesAreReportedWithPositions() throws {
        let yaml = Self.header + """
            functions:
              plain: { runtime: python3, handler: app.handler, code: src }
              served:
                runtime: python3
                handler: app.handler
                code: src
                image: p/served:1
                minInstances: 1
                events: [ { schedule: rate(5 minutes) } ]
            rules:
              r: { pattern: { source: ["x"] }, targets: [ { function: plain } ] }
            """
        let (rendering, loaded) = try Self.kubernetes(yaml)
        #expect(rendering.documents.map(\.name) == ["served"])
        let plain = try #require(rendering.diagnostics.first { $0.keyPath == "functions.plain" })
        #expect(plain.severity == .warning && plain.id == "render-not-rendered" && plain.line == 4 && plain.file == loaded.path)
        #expect(plain.message.contains("--target sam"))
        let rule = try #require(rendering.diagnostics.first { $0.keyPath == "rules.r" })
        #expect(rule.line == 13 && rule.message.contains("not rendered"))
        #expect(rendering.diagnostics.contains { $0.keyPath == "functions.served.events[0].schedule" && $0.line == 11 })
        let annotations = rendering.documents[0].value["spec"]?["template"]?["metadata"]?["annotations"]
        #expect(annotations == .object([("autoscaling.knative.dev/min-scale", .string("1"))]))
    }

    @Test func knativeAnnotationsFromThePolicy() throws {
        let yaml = Self.header + """
            functions:
              f: { runtime: python3, handler: app.handler, code: src, image: "p/f:1", concurrency: 10 }
            scaling:
              f-load:
                target: function.f
                maxReplicas: 20
                targetTracking: { metric: concurrency, target: 0.7 }
                behavior: { scaleDown: { stabilizationWindow: 2m } }
            """
        let (rendering, _) = try Self.kubernetes(yaml)
        let template = rendering.documents[0].value["spec"]?["template"]
        #expect(template?["metadata"]?["annotations"] == .object([
            ("autoscaling.knative.dev/max-scale", .string("20")), ("autoscaling.knative.dev/metric", .string("concurrency")),
            ("autoscaling.knative.dev/min-scale", .string("0")), ("autoscaling.knative.dev/scale-down-delay", .string("120s")),
            ("autoscaling.knative.dev/target-utilization-percentage", .string("70")),
        ]))
        #expect(template?["spec"]?["containerConcurrency"] == .int(10))
        #expect(rendering.diagnostics.isEmpty, "\(rendering.diagnostics)")
    }

    // MARK: SAM

    @Test func runtimesMapToCurrentLambdaRuntimes() throws {
        let directory = try Support.temporaryDirectory("kumo-render")
        try FileManager.default.createDirectory(atPath: directory + "/boot", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: directory + "/boot/bootstrap", contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755])
        let yaml = Self.header + """
            functions:
              py: { runtime: python3, handler: app.handler, code: src, timeout: 1500ms }
              js: { runtime: node, handler: index.handler, code: src }
              own: { runtime: provided, code: boot }
              run: { runtime: exec, command: ["./report.sh"], code: src }
            """
        try FileManager.default.createDirectory(atPath: directory + "/src", withIntermediateDirectories: true)
        try yaml.write(toFile: directory + "/kumo.yaml", atomically: true, encoding: .utf8)
        let result = ProjectLoader.load(paths: [directory + "/kumo.yaml"], options: LoadOptions())
        let project = try #require(result.project, "\(result.diagnostics)")
        let rendering = Render.sam(project, sources: RenderSources(result))
        let resources = rendering.documents[0].value["Resources"]
        func props(_ id: String) -> ConfigValue? { resources?[id]?["Properties"] }
        #expect(props("PyFunction")?["Runtime"] == .string("python3.13") && props("PyFunction")?["Handler"] == .string("app.handler"))
        #expect(props("JsFunction")?["Runtime"] == .string("nodejs22.x"))
        #expect(props("OwnFunction")?["Runtime"] == .string("provided.al2023") && props("OwnFunction")?["Handler"] == .string("bootstrap"))
        #expect(props("RunFunction")?["Runtime"] == .string("provided.al2023"))
        #expect(props("PyFunction")?["Timeout"] == .int(2) && props("PyFunction")?["CodeUri"] == .string("src"))
        #expect(rendering.diagnostics.contains { $0.id == "render-exec-bootstrap" && $0.keyPath == "functions.run.runtime" && $0.line == 7 })
        #expect(rendering.diagnostics.contains { $0.keyPath == "functions.py.timeout" && $0.message.contains("2s") })
    }

    @Test func functionSettingsAndTriggers() throws {
        let yaml = Self.header + """
            functions:
              create-order:
                runtime: python3
                handler: app.handler
                code: src
                memory: 512
                timeout: 30s
                concurrency: 50
                minInstances: 2
                events: [ { http: { method: POST, path: "/orders/{id}" } }, { schedule: cron(0 2 * * ? *) } ]
                invokeConfig: { maximumRetryAttempts: 1, maximumEventAge: 1h, onFailure: dlq }
            """
        let (template, rendering, _) = try Self.sam(yaml, options: RenderOptions(codeRoot: "../app/"))
        #expect(rendering.diagnostics.isEmpty, "\(rendering.diagnostics)")
        let props = template["Resources"]?["CreateOrderFunction"]?["Properties"]
        #expect(props?["CodeUri"] == .string("../app/src"))
        #expect(props?["MemorySize"] == .int(512) && props?["Timeout"] == .int(30) && props?["ReservedConcurrentExecutions"] == .int(50))
        #expect(props?["AutoPublishAlias"] == .string("live"))
        #expect(props?["ProvisionedConcurrencyConfig"] == .object([("ProvisionedConcurrentExecutions", .int(2))]))
        #expect(props?["Events"]?["Http0"] == .object([("Type", .string("HttpApi")), ("Properties", .object([("Method", .string("POST")), ("Path", .string("/orders/{id}"))]))]))
        #expect(props?["Events"]?["Schedule1"]?["Properties"]?["Schedule"] == .string("cron(0 2 * * ? *)"))
        let invoke = props?["EventInvokeConfig"]
        #expect(invoke?["MaximumEventAgeInSeconds"] == .int(3600) && invoke?["MaximumRetryAttempts"] == .int(1))
        #expect(invoke?["DestinationConfig"]?["OnFailure"]?["Destination"] == .object([("Fn::GetAtt", .array([.string("DeadLetterQueue"), .string("Arn")]))]))
        #expect(template["Resources"]?["DeadLetterQueue"]?["Type"] == .string("AWS::SQS::Queue"))
    }

    @Test func patternAndTransformerAreCarriedVerbatim() throws {
        let yaml = Self.header + """
            functions:
              notify: { runtime: python3, handler: app.handler, code: src }
            services:
              api: { command: ["./api"], image: "p/api:1", port: 8081 }
            rules:
              big-order:
                enabled: false
                pattern:
                  source: ["shop.orders"]
                  detail-type: ["OrderPlaced"]
                  detail:
                    total: [ { numeric: [">", 100, "<=", 2.5e3] } ]
                    tag: [ { anything-but: { prefix: "test-" } }, "100" ]
                    $or: [ { region: [ { wildcard: "eu-*" } ] }, { vip: [ { exists: true } ] } ]
                targets:
                  - function: notify
                    inputTransformer:
                      inputPathsMap: { total: $.detail.total, id: $.detail.id }
                      inputTemplate: '{"kind": "big-order", "orderId": <id>, "note": "total <total>"}'
                  - service: api
                    path: /hooks/big
                  - function: notify
                    input: '{"fixed": [1, 2.50]}'
                  - function: notify
                    inputPath: $.detail
                retryPolicy: { maximumRetryAttempts: 3, maximumEventAge: 1h }
                deadLetter: true
            """
        let (template, rendering, loaded) = try Self.sam(yaml)
        let rule = template["Resources"]?["BigOrderRule"]?["Properties"]
        #expect(rule?["State"] == .string("DISABLED"))
        #expect(rule?["EventPattern"] == RenderSupport.verbatim(loaded.project.rules[0].pattern!.source))
        // Keys stay in the order written (ConfigValue objects compare in order, but say it plainly).
        func keys(_ value: ConfigValue?) -> [String] { if case .object(let pairs)? = value { pairs.map(\.0) } else { [] } }
        #expect(keys(rule?["EventPattern"]) == ["source", "detail-type", "detail"])
        #expect(keys(rule?["EventPattern"]?["detail"]) == ["total", "tag", "$or"])
        #expect(keys(rule?["EventPattern"]?["detail"]?["tag"]?[0]) == ["anything-but"])
        #expect(rule?["EventPattern"]?["detail"]?["total"]?[0]?["numeric"] == .array([.string(">"), .int(100), .string("<="), .double(2500)]))
        #expect(rule?["EventPattern"]?["detail"]?["tag"]?[1] == .string("100"))
        let targets = rule?["Targets"]
        #expect(targets?[0]?["InputTransformer"] == .object([
            ("InputPathsMap", .object([("id", .string("$.detail.id")), ("total", .string("$.detail.total"))])),
            ("InputTemplate", .string(#"{"kind": "big-order", "orderId": <id>, "note": "total <total>"}"#)),
        ]))
        #expect(targets?[1]?["Input"] == .string(#"{"fixed": [1, 2.50]}"#))
        #expect(targets?[2]?["InputPath"] == .string("$.detail"))
        #expect(targets?[0]?["RetryPolicy"] == .object([("MaximumRetryAttempts", .int(3)), ("MaximumEventAgeInSeconds", .int(3600))]))
        #expect(targets?[0]?["DeadLetterConfig"]?["Arn"] == .object([("Fn::GetAtt", .array([.string("DeadLetterQueue"), .string("Arn")]))]))
        #expect(template["Resources"]?["BigOrderRuleTarget0Permission"]?["Properties"]?["Principal"] == .string("events.amazonaws.com"))
        #expect(template["Resources"]?["DeadLetterQueuePolicy"] != nil)
        // The service target has no EventBridge form here: reported at its position.
        let service = try #require(rendering.diagnostics.first { $0.keyPath == "rules.big-order.targets[1]" })
        #expect(service.id == "render-not-rendered" && service.line == 22 && service.file == loaded.path, "\(service)")
        // The YAML text keeps the template byte for byte (quoted as YAML needs).
        #expect(rendering.text.contains(#"InputTemplate: "{\"kind\": \"big-order\", \"orderId\": <id>, \"note\": \"total <total>\"}""#), "\(rendering.text)")
    }

    @Test func fargateSizesRoundUpWithAWarning() throws {
        #expect(FargateSize.fitting(cpu: 0.25, memory: 256) == FargateSize(cpu: 256, memory: 512))
        #expect(FargateSize.fitting(cpu: 0.25, memory: 512) == FargateSize(cpu: 256, memory: 512))
        #expect(FargateSize.fitting(cpu: 0.5, memory: 256) == FargateSize(cpu: 512, memory: 1024))
        #expect(FargateSize.fitting(cpu: 0.25, memory: 3000) == FargateSize(cpu: 512, memory: 3072))
        #expect(FargateSize.fitting(cpu: 1, memory: 9000) == FargateSize(cpu: 2048, memory: 9216))
        #expect(FargateSize.fitting(cpu: 3, memory: 1024) == FargateSize(cpu: 4096, memory: 8192))
        #expect(FargateSize.fitting(cpu: 8, memory: 16385) == FargateSize(cpu: 8192, memory: 20480))
        #expect(FargateSize.fitting(cpu: 16, memory: 122_880) == FargateSize(cpu: 16384, memory: 122_880))
        #expect(FargateSize.fitting(cpu: 17, memory: 1024) == nil)
        #expect(FargateSize.fitting(cpu: 1, memory: 200_000) == nil)

        let (template, rendering, loaded) = try Self.sam(Self.services)
        let task = template["Resources"]?["ApiTaskDefinition"]?["Properties"]
        #expect(task?["Cpu"] == .string("512") && task?["Memory"] == .string("1024"))
        let warning = try #require(rendering.diagnostics.first { $0.keyPath == "services.api.resources" })
        #expect(warning.message.hasSuffix("rounded up to the smallest Fargate size that holds them: 0.5 vCPU / 1024 MB"), "\(warning.message)")
        #expect(warning.line == 8 && warning.column == 16 && warning.file == loaded.path)
        // An exact size gets no warning.
        let exact = Self.header + "services:\n  a: { command: [\"./a\"], image: \"p/a:1\", resources: { cpu: 1, memory: 2Gi } }\n"
        #expect(try Self.sam(exact).1.diagnostics.isEmpty)
        let huge = Self.header + "services:\n  a: { command: [\"./a\"], image: \"p/a:1\", resources: { cpu: 32, memory: 1024 } }\n"
        let error = try Self.sam(huge).1
        #expect(error.documents.isEmpty && error.diagnostics.map(\.id) == ["render-unsupported-size"])
    }

    @Test func servicesOnFargate() throws {
        let (template, _, _) = try Self.sam(Self.services)
        let resources = template["Resources"]
        let container = resources?["ApiTaskDefinition"]?["Properties"]?["ContainerDefinitions"]?[0]
        #expect(container?["Image"] == .string("p/api:1"))
        #expect(container?["Command"] == .array([.string("./api"), .string("--port"), .string("8081")]))
        #expect(container?["HealthCheck"]?["Command"] == .array([.string("CMD-SHELL"), .string("curl -fsS 'http://localhost:8081/healthz' >/dev/null || exit 1")]))
        let service = resources?["ApiService"]
        #expect(service?["DependsOn"] == .array([.string("ApiListener"), .string("CacheService"), .string("OrdersService")]))
        #expect(service?["Properties"]?["LoadBalancers"]?[0]?["TargetGroupArn"] == .object([("Ref", .string("ApiTargetGroup"))]))
        #expect(resources?["ApiTargetGroup"]?["Properties"]?["HealthCheckPath"] == .string("/healthz"))
        #expect(template["Parameters"]?["Subnets"]?["Type"] == .string("List<AWS::EC2::Subnet::Id>"))
    }

    @Test func aServiceWithoutImageIsAnErrorForBothTargets() throws {
        let yaml = Self.header + "services:\n  api:\n    command: [\"./api\"]\n"
        let loaded = try Self.load(yaml)
        for target in RenderTarget.allCases {
            let rendering = Render.render(target, loaded.project, sources: loaded.sources)
            #expect(rendering.documents.isEmpty && rendering.hasErrors)
            let error = try #require(rendering.diagnostics.first)
            #expect(error.id == "render-missing-image" && error.severity == .error && error.line == 5 && error.keyPath == "services.api", "\(error)")
        }
    }

    @Test func strictMakesWarningsErrors() throws {
        let loaded = try Self.load(Self.services)
        let lenient = Render.kubernetes(loaded.project, sources: loaded.sources)
        #expect(!lenient.hasErrors && !lenient.diagnostics.isEmpty && !lenient.documents.isEmpty)
        let strict = Render.kubernetes(loaded.project, sources: loaded.sources, options: RenderOptions(strict: true))
        #expect(strict.hasErrors && strict.diagnostics.allSatisfy { $0.severity == .error })
        #expect(strict.diagnostics.map(\.message) == lenient.diagnostics.map(\.message))
    }

    @Test func namesThatCollideOnATargetAreErrors() throws {
        let yaml = Self.header + """
            services:
              big-order: { command: ["./a"], image: "p/a:1" }
              bigOrder: { command: ["./b"], image: "p/b:1" }
            """
        let (sam, _) = (try Self.sam(yaml).1, ())
        #expect(sam.hasErrors && sam.diagnostics.contains { $0.id == "render-name-collision" && $0.message.contains("'BigOrderTaskDefinition'") })
        let (k8s, _) = try Self.kubernetes(yaml)
        #expect(k8s.hasErrors && k8s.diagnostics.contains { $0.id == "render-name-collision" && $0.message.contains("'big-order'") })
    }

    // MARK: Examples

    static var golden: String { KumoTestSupport.fixtures() + "/golden" }

    /// The examples' renderings, compared with Fixtures/golden; KUMO_UPDATE_GOLDEN=1 rewrites them.
    @Test(arguments: ["hello", "shop"])
    func examplesMatchTheGoldenFiles(example: String) throws {
        let result = ProjectLoader.load(paths: [Support.examples + "/" + example], options: LoadOptions(environment: [:]))
        let project = try #require(result.project)
        for target in RenderTarget.allCases {
            let rendering = Render.render(target, project, sources: RenderSources(result))
            #expect(!rendering.hasErrors, "\(rendering.diagnostics)")
            let again = Render.render(target, project, sources: RenderSources(result))
            #expect(again.text == rendering.text, "rendering is not deterministic")
            let path = "\(Self.golden)/\(example)-\(target.rawValue).yaml"
            if ProcessInfo.processInfo.environment["KUMO_UPDATE_GOLDEN"] == "1" {
                try rendering.text.write(toFile: path, atomically: true, encoding: .utf8)
                continue
            }
            let expected = try String(contentsOfFile: path, encoding: .utf8)
            if rendering.text != expected {
                let a = rendering.text.split(separator: "\n", omittingEmptySubsequences: false), e = expected.split(separator: "\n", omittingEmptySubsequences: false)
                let line = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
                Issue.record("\(path) differs at line \(line + 1):\n  expected: \(line < e.count ? String(e[line]) : "<end>")\n  actual:   \(line < a.count ? String(a[line]) : "<end>")\n(KUMO_UPDATE_GOLDEN=1 rewrites the golden files)")
            }
        }
    }
}

extension ConfigValue {
    subscript(index: Int) -> ConfigValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }
}
