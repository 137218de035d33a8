public import KumoEvents

/// A resolved, validated project: every file merged, variables and defaults applied.
///
/// Resources are kept sorted by name, so everything derived from a project is deterministic.
public struct Project: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var stage: String
    /// The project directory: `code:` paths are relative to it once resolved.
    public var directory: String
    public var variables: [String: String]
    public var functions: [Function]
    public var services: [Service]
    public var scaling: [ScalingPolicy]
    public var rules: [Rule]
    public var estimates: Estimates
    public var pricing: Pricing
    public var usage: [String: Usage]
    /// The services each function or service names in `${service:NAME.url}`, by the referrer's
    /// address (a service naming itself is left out): these order the rollout.
    public var serviceReferences: [String: [String]] = [:]

    public init(
        version: Int = 1, name: String, stage: String = "default", directory: String = ".",
        variables: [String: String] = [:], functions: [Function] = [], services: [Service] = [],
        scaling: [ScalingPolicy] = [], rules: [Rule] = [], estimates: Estimates = .builtIn,
        pricing: Pricing = .builtIn, usage: [String: Usage] = [:]
    ) {
        self.version = version
        self.name = name
        self.stage = stage
        self.directory = directory
        self.variables = variables
        self.functions = functions
        self.services = services
        self.scaling = scaling
        self.rules = rules
        self.estimates = estimates
        self.pricing = pricing
        self.usage = usage
    }
}

/// A span of time, kept in milliseconds; written in manifests as `250ms`, `10s`, `5m`, `1h`.
public struct Duration: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func seconds(_ s: Int64) -> Duration { Duration(milliseconds: s * 1000) }
    public static func minutes(_ m: Int64) -> Duration { Duration(milliseconds: m * 60_000) }
    public static func hours(_ h: Int64) -> Duration { Duration(milliseconds: h * 3_600_000) }

    public var seconds: Double { Double(milliseconds) / 1000 }

    /// The same span as a standard library duration, for clocks and sleeps.
    public var duration: Swift.Duration { .milliseconds(milliseconds) }

    public static func < (lhs: Duration, rhs: Duration) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// The canonical spelling: the largest unit that divides the value exactly.
    public var description: String {
        let ms = milliseconds
        if ms != 0 && ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms != 0 && ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }

    /// Parses `1h30m`, `250ms`, `10s`; nil when the text is not a duration.
    public init?(parsing text: String) {
        var total: Int64 = 0
        var number: Int64 = 0
        var digits = 0
        var units = 0
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.first {
            if ASCII.isDigit(byte) {
                let (mul, o1) = number.multipliedReportingOverflow(by: 10)
                let (sum, o2) = mul.addingReportingOverflow(Int64(byte - 48))
                if o1 || o2 { return nil }
                number = sum
                digits += 1
                bytes = bytes.dropFirst()
                continue
            }
            guard digits > 0 else { return nil }
            let factor: Int64
            if bytes.starts(with: "ms".utf8) { factor = 1; bytes = bytes.dropFirst(2) }
            else if byte == UInt8(ascii: "s") { factor = 1000; bytes = bytes.dropFirst() }
            else if byte == UInt8(ascii: "m") { factor = 60_000; bytes = bytes.dropFirst() }
            else if byte == UInt8(ascii: "h") { factor = 3_600_000; bytes = bytes.dropFirst() }
            else { return nil }
            let (part, o1) = number.multipliedReportingOverflow(by: factor)
            let (sum, o2) = total.addingReportingOverflow(part)
            if o1 || o2 { return nil }
            total = sum
            number = 0
            digits = 0
            units += 1
        }
        guard digits == 0, units > 0 else { return nil }
        milliseconds = total
    }
}

public enum FunctionRuntime: String, Sendable, CaseIterable {
    case python3, node, provided, exec
}

public struct Function: Sendable, Equatable {
    public var name: String
    public var description: String?
    public var runtime: FunctionRuntime
    public var handler: String?
    /// Directory relative to the project directory.
    public var code: String?
    public var command: [Text]
    /// A container that serves the function over HTTP on `$PORT` (Knative's contract), used by
    /// `kumo render --target kubernetes`; the local runtime and the SAM rendering run the handler.
    public var image: String?
    /// Memory limit in MB.
    public var memory: Int
    public var timeout: Duration
    public var environment: [String: Text]
    public var concurrency: Int
    public var minInstances: Int
    public var idleTimeout: Duration
    public var events: [FunctionEvent]
    public var invokeConfig: InvokeConfig?
    public var range: SourceRange

    public static let defaultMemory = 128
    public static let defaultTimeout = Duration.seconds(3)
    public static let defaultConcurrency = 100
    public static let defaultIdleTimeout = Duration.minutes(5)
    public static let defaultMinInstances = 0
    public static let memoryRange = 128...10_240
    public static let timeoutRange = Duration.seconds(1)...Duration.seconds(900)
    public static let concurrencyRange = 1...1000
    public static let minInstancesRange = 0...100

    public var address: String { "function.\(name)" }
}

public enum FunctionEvent: Sendable, Equatable {
    case http(method: String, path: String)
    case schedule(Schedule)
}

public struct InvokeConfig: Sendable, Equatable {
    public enum OnFailure: String, Sendable, CaseIterable { case dlq, discard }
    public var maximumRetryAttempts: Int
    public var maximumEventAge: Duration
    public var onFailure: OnFailure

    public static let defaultRetryAttempts = 2
    public static let defaultOnFailure = OnFailure.discard
    public static let defaultEventAge = Duration.hours(6)
    /// AWS's asynchronous invocation defaults: two retries, six hours, then discard.
    public static let `default` = InvokeConfig(maximumRetryAttempts: defaultRetryAttempts, maximumEventAge: defaultEventAge, onFailure: defaultOnFailure)
}

public struct Service: Sendable, Equatable {
    public enum RestartPolicy: String, Sendable, CaseIterable {
        case no, onFailure = "on-failure", always
    }

    public var name: String
    public var description: String?
    public var command: [Text]
    public var code: String?
    public var image: String?
    public var port: Int?
    public var replicas: Int
    public var resources: Resources
    public var environment: [String: Text]
    public var healthcheck: Healthcheck?
    public var dependsOn: [String: Dependency]
    public var restart: RestartPolicy
    public var stopGracePeriod: Duration
    public var range: SourceRange

    public static let defaultReplicas = 1
    public static let replicasRange = 0...100
    public static let defaultStopGracePeriod = Duration.seconds(10)
    public static let defaultRestart = RestartPolicy.onFailure
    public static let defaultDependency = Dependency.started

    public var address: String { "service.\(name)" }

    public struct Resources: Sendable, Equatable {
        public var cpu: Double
        /// Memory limit per replica in MB.
        public var memory: Int
        public static let `default` = Resources(cpu: 0.25, memory: 256)
    }

    public enum Dependency: String, Sendable, Equatable, CaseIterable {
        case started, healthy
    }
}

public struct Healthcheck: Sendable, Equatable {
    public enum Probe: Sendable, Equatable {
        case http(path: String)
        case tcp
        case exec([Text])
    }

    public var probe: Probe
    public var interval: Duration
    public var timeout: Duration
    public var retries: Int
    public var startPeriod: Duration

    public static let defaultInterval = Duration.seconds(10)
    public static let defaultTimeout = Duration.seconds(2)
    public static let defaultRetries = 3
    public static let defaultStartPeriod = Duration(milliseconds: 0)
}

public struct ScalingPolicy: Sendable, Equatable {
    public enum Metric: String, Sendable, CaseIterable {
        case requestsPerSecond, inFlight, concurrency, cpu
    }

    public enum Mode: Sendable, Equatable {
        case linear(metric: Metric, maxLoad: Double)
        case targetTracking(metric: Metric, target: Double)
    }

    public struct Behavior: Sendable, Equatable {
        public var scaleUp: Rules?
        public var scaleDown: Rules?

        public init(scaleUp: Rules? = nil, scaleDown: Rules? = nil) {
            self.scaleUp = scaleUp
            self.scaleDown = scaleDown
        }
    }

    public struct Rules: Sendable, Equatable {
        public enum Select: String, Sendable, CaseIterable { case max, min, disabled }
        public var stabilizationWindow: Duration?
        /// Empty when the manifest gives none.
        public var policies: [Policy]
        public var selectPolicy: Select?

        public init(stabilizationWindow: Duration? = nil, policies: [Policy] = [], selectPolicy: Select? = nil) {
            self.stabilizationWindow = stabilizationWindow
            self.policies = policies
            self.selectPolicy = selectPolicy
        }
    }

    public struct Policy: Sendable, Equatable {
        public enum Kind: String, Sendable, CaseIterable { case percent, replicas }
        public var type: Kind
        public var value: Int
        public var period: Duration

        public init(type: Kind, value: Int, period: Duration) {
            self.type = type
            self.value = value
            self.period = period
        }
    }

    public var name: String
    public var target: String
    public var minReplicas: Int
    public var maxReplicas: Int
    public var mode: Mode
    public var behavior: Behavior?
    public var range: SourceRange

    public static let replicasRange = 0...1000
    public static let defaultMinReplicas = 0
    public var address: String { "scaling.\(name)" }

    public init(name: String, target: String, minReplicas: Int = defaultMinReplicas, maxReplicas: Int, mode: Mode,
                behavior: Behavior? = nil, range: SourceRange = .synthetic) {
        self.name = name
        self.target = target
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.mode = mode
        self.behavior = behavior
        self.range = range
    }
}

public struct Rule: Sendable, Equatable {
    public var name: String
    public var description: String?
    public var enabled: Bool
    /// What events the rule matches; a rule has a pattern, a schedule, or both.
    public var pattern: Pattern?
    /// When the rule fires on its own (`rate(…)` or `cron(…)`, UTC).
    public var schedule: Schedule?
    public var targets: [RuleTarget]
    public var retryPolicy: RetryPolicy
    public var deadLetter: Bool
    public var range: SourceRange

    public var address: String { "rule.\(name)" }

    public static let defaultEnabled = true
    public static let defaultDeadLetter = false

    public struct RetryPolicy: Sendable, Equatable {
        public var maximumRetryAttempts: Int
        public var maximumEventAge: Duration
        public static let `default` = RetryPolicy(maximumRetryAttempts: 185, maximumEventAge: .hours(24))
    }
}

public struct RuleTarget: Sendable, Equatable {
    public enum Kind: String, Sendable { case function, service }
    public var kind: Kind
    public var name: String
    public var path: String?
    public var inputTransformer: InputTransformer?
    public var input: String?
    public var inputPath: String?

    public var address: String { "\(kind.rawValue).\(name)" }

    public struct InputTransformer: Sendable, Equatable {
        public var inputPathsMap: [String: String]
        public var inputTemplate: String
    }
}

/// Coefficients of the seed's time models, per line: T(n) for functions with n = workers
/// started, S(m) for services with m = replicas started, E(k) for rules and scaling policies
/// with k = registrations. A wave of one line takes
///     init + register·registrations + remove·removals + each·max(1, starts/q) + stop·max(1, stops/q)
/// where p is `--parallelism` and q = min(p, `parallelism`): the process starts the machine
/// sustains at once (starting processes is CPU-bound); a term with nothing to count is 0.
/// Registrations are counted whole: they go one at a time through the runtime and the state's
/// writer. Rules have no processes: their `each` is per registration, E(k) = init + each·k.
public struct Estimates: Sendable, Equatable {
    /// The coefficients are kept in seconds, exactly as `kumo calibrate` fits them (a
    /// registration costs well under a millisecond); manifests give them as durations.
    public struct Line: Sendable, Equatable {
        /// Fixed time of a wave that has actions of this line.
        public var initialSeconds: Double
        /// Per process started (a function's warm worker, a service's replica up to its first
        /// successful probe); per registration for rules.
        public var eachSeconds: Double
        /// Per action: the runtime registering the resource (create, update, replace).
        public var registerSeconds: Double
        /// Per action: the runtime removing the resource (delete, replace).
        public var removeSeconds: Double
        /// Per process stopped (a worker, or a replica drained and stopped).
        public var stopSeconds: Double
        /// Process starts the machine sustains at once (fitted: 1.7 is a machine whose second
        /// core is partly busy).
        public var parallelism: Double
        public var source: Source
        /// Calibrated lines only: the relative error of one wave's estimate, from the fit's
        /// residuals and sample count (0.12 = ±12 %), and the samples it was fitted on.
        public var error: Double?
        public var samples: Int?

        public init(initial: Duration, each: Duration, register: Duration = Duration(milliseconds: 0), remove: Duration = Duration(milliseconds: 0),
                    stop: Duration = Duration(milliseconds: 0), parallelism: Double = 2, source: Source, error: Double? = nil, samples: Int? = nil) {
            self.init(initialSeconds: initial.seconds, eachSeconds: each.seconds, registerSeconds: register.seconds, removeSeconds: remove.seconds,
                      stopSeconds: stop.seconds, parallelism: parallelism, source: source, error: error, samples: samples)
        }

        public init(initialSeconds: Double, eachSeconds: Double, registerSeconds: Double, removeSeconds: Double, stopSeconds: Double,
                    parallelism: Double, source: Source, error: Double? = nil, samples: Int? = nil) {
            self.initialSeconds = initialSeconds
            self.eachSeconds = eachSeconds
            self.registerSeconds = registerSeconds
            self.removeSeconds = removeSeconds
            self.stopSeconds = stopSeconds
            self.parallelism = parallelism
            self.source = source
            self.error = error
            self.samples = samples
        }

        /// The coefficients as durations, to the millisecond (the manifest's unit).
        public var initial: Duration {
            get { Line.duration(initialSeconds) }
            set { initialSeconds = newValue.seconds }
        }
        public var each: Duration {
            get { Line.duration(eachSeconds) }
            set { eachSeconds = newValue.seconds }
        }
        public var register: Duration {
            get { Line.duration(registerSeconds) }
            set { registerSeconds = newValue.seconds }
        }
        public var remove: Duration {
            get { Line.duration(removeSeconds) }
            set { removeSeconds = newValue.seconds }
        }
        public var stop: Duration {
            get { Line.duration(stopSeconds) }
            set { stopSeconds = newValue.seconds }
        }

        static func duration(_ seconds: Double) -> Duration { Duration(milliseconds: Int64((seconds * 1000).rounded())) }

        /// `5ms`, `0.7ms`, `1.2s`: a coefficient as people read it, sub-millisecond ones included.
        public static func text(_ seconds: Double) -> String {
            let ms = seconds * 1000
            if ms == ms.rounded() { return duration(seconds).description }
            if ms >= 100 { return "\(Int(ms.rounded()))ms" }
            return String(format: ms >= 10 ? "%.1fms" : "%.2fms", ms).replacingOccurrences(of: #"\.?0+ms$"#, with: "ms", options: .regularExpression)
        }
    }

    public enum Source: String, Sendable { case builtIn = "built-in", manifest, calibrated }

    /// The three lines; scaling policies count with rules.
    public enum Kind: String, Sendable, CaseIterable {
        case functions, services, rules

        public init(_ kind: ResourceKind) {
            switch kind {
            case .function: self = .functions
            case .service: self = .services
            case .rule, .scaling: self = .rules
            }
        }

        /// T(n), S(m), E(k).
        public var symbol: String {
            switch self {
            case .functions: "T(n)"
            case .services: "S(m)"
            case .rules: "E(k)"
            }
        }
    }

    public var functions: Line
    public var services: Line
    public var rules: Line

    public subscript(kind: Kind) -> Line {
        get {
            switch kind {
            case .functions: functions
            case .services: services
            case .rules: rules
            }
        }
        set {
            switch kind {
            case .functions: functions = newValue
            case .services: services = newValue
            case .rules: rules = newValue
            }
        }
    }

    public init(functions: Line, services: Line, rules: Line) {
        self.functions = functions
        self.services = services
        self.rules = rules
    }

    /// Fitted by `kumo calibrate` on a 2-core machine (release build, python3 handlers and
    /// replicas, Benchmarks/estimates.sh), rounded: a warm worker's start and bootstrap init, a
    /// replica's start up to its first successful probe, a registration through the control API
    /// and its state write (well under a millisecond).
    public static let builtIn = Estimates(
        functions: Line(initialSeconds: 0.005, eachSeconds: 0.110, registerSeconds: 0.0007, removeSeconds: 0.0005, stopSeconds: 0.004,
                        parallelism: 2, source: .builtIn),
        services: Line(initialSeconds: 0.005, eachSeconds: 0.400, registerSeconds: 0.010, removeSeconds: 0.002, stopSeconds: 0.020,
                       parallelism: 4, source: .builtIn),
        rules: Line(initialSeconds: 0.002, eachSeconds: 0.001, registerSeconds: 0, removeSeconds: 0, stopSeconds: 0, parallelism: 2, source: .builtIn))
}

/// Unit prices for cost estimates; defaults are public list prices for the region.
public struct Pricing: Sendable, Equatable {
    public var region: String
    public var perGbSecond: Double
    public var perMillionRequests: Double
    public var perVcpuHour: Double
    public var perGbHour: Double

    public init(region: String, perGbSecond: Double, perMillionRequests: Double, perVcpuHour: Double, perGbHour: Double) {
        self.region = region
        self.perGbSecond = perGbSecond
        self.perMillionRequests = perMillionRequests
        self.perVcpuHour = perVcpuHour
        self.perGbHour = perGbHour
    }

    /// Public list prices (x86, on-demand) by region: Lambda GB-s and requests, Fargate vCPU-h and GB-h.
    public static let regions: [String: Pricing] = [
        "us-east-1": Pricing(region: "us-east-1", perGbSecond: 0.0000166667, perMillionRequests: 0.20, perVcpuHour: 0.04048, perGbHour: 0.004445),
        "us-west-2": Pricing(region: "us-west-2", perGbSecond: 0.0000166667, perMillionRequests: 0.20, perVcpuHour: 0.04048, perGbHour: 0.004445),
        "eu-west-1": Pricing(region: "eu-west-1", perGbSecond: 0.0000166667, perMillionRequests: 0.20, perVcpuHour: 0.04048, perGbHour: 0.004445),
        "eu-central-1": Pricing(region: "eu-central-1", perGbSecond: 0.0000166667, perMillionRequests: 0.20, perVcpuHour: 0.04656, perGbHour: 0.00511),
        "ap-northeast-1": Pricing(region: "ap-northeast-1", perGbSecond: 0.0000166667, perMillionRequests: 0.20, perVcpuHour: 0.05056, perGbHour: 0.00553),
    ]

    public static let builtIn = regions["us-east-1"]!
}

public struct Usage: Sendable, Equatable {
    public var monthlyRequests: Int
    public var averageDuration: Duration

    public init(monthlyRequests: Int, averageDuration: Duration) {
        self.monthlyRequests = monthlyRequests
        self.averageDuration = averageDuration
    }
}
