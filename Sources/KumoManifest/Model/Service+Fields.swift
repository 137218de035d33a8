/// The keys of a service, its resources and its dependencies: the readers' known keys and
/// ranges and the JSON Schema come from these tables.
extension Service {
    public static let portRange = 1...65535
    public static let stopGracePeriodRange = Duration(milliseconds: 0)...Duration.minutes(10)

    public static let fields: Field.Table = [
        Field("description", .text, "Free text shown by `kumo plan` and the renderers."),
        Field("command", .argv, required: true, "Program and arguments of one replica; `${port}` is the replica's own port."),
        Field("code", .text, "Directory with the service's code, relative to this file and inside the project; the command runs there and its content hash drives updates."),
        Field("image", .text, "Container image used by `kumo render`; the local runtime runs `command`."),
        Field("port", .integer(portRange), "Stable front port on 127.0.0.1, load-balanced over the replicas."),
        Field("replicas", .integer(replicasRange), default: .integer(defaultReplicas), "Number of replicas to run when no scaling policy targets the service."),
        Field("resources", .object(Resources.fields), "Resources of one replica."),
        Field("environment", .environment, "Environment variables of every replica."),
        Field("healthcheck", .named("healthcheck", .object(Healthcheck.fields)),
              "How readiness is probed: one of `http`, `tcp` or `exec` (here or in defaults.service)."),
        Field("dependsOn", .named("dependsOn", .anyOf([
            .list(.reference),
            .entries(keys: Field.Pattern.nameKey, .object(dependencyFields), doc: "A service this one waits for."),
        ])), "Services started before this one: a list of names, or name → `{ condition: started | healthy }`."),
        Field("restart", .choice(RestartPolicy.allCases.map(\.rawValue)), default: .string(defaultRestart.rawValue),
              "Restart policy when a replica exits: `no` (quote it or use YAML 1.2), `on-failure`, `always`."),
        Field("stopGracePeriod", .duration(stopGracePeriodRange), default: .duration(defaultStopGracePeriod),
              "Time between SIGTERM and SIGKILL when a replica is stopped, e.g. `10s`."),
    ]

    /// An entry of a `dependsOn` mapping.
    public static let dependencyFields: Field.Table = [
        Field("condition", .choice(Dependency.allCases.map(\.rawValue)), default: .string(defaultDependency.rawValue),
              "`started`: once running; `healthy`: once its healthcheck passes."),
    ]

    /// The keys of a service mapping (and of `defaults.service`).
    static let keys = fields.keys
    static let dependencyKeys = dependencyFields.keys
}

extension Service.Resources {
    public static let cpuBounds = Field.Bounds.above(0, atMost: 64)
    public static let memoryRange = 16...262_144

    public static let fields: Field.Table = [
        Field("cpu", .number(cpuBounds), default: .number(Service.Resources.default.cpu), "vCPUs of one replica, e.g. `0.5`."),
        Field("memory", .size(memoryRange), default: .integer(Service.Resources.default.memory), "Memory of one replica in MB, or a size string such as `512Mi`."),
    ]

    static let keys = fields.keys
}
