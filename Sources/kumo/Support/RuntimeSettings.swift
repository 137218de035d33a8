import ArgumentParser
import KumoManifest
import KumoRuntime

/// How a runtime runs, beyond where: the same flags on `runtime start`, `runtime serve` and `up`.
struct RuntimeSettings: ParsableArguments {
    @Option(help: ArgumentHelp("How long the event bus archives accepted events for 'kumo events replay' (e.g. 24h, 30m).", valueName: "DURATION"))
    var eventRetention = "24h"

    @Option(help: ArgumentHelp("How often scaling policies are evaluated (the Kubernetes HPA's period; e.g. 15s, 1s for tests).", valueName: "DURATION"))
    var scalingInterval = "15s"

    @Option(help: ArgumentHelp("Loopback port of the Prometheus endpoint GET /metrics (default: a free one; 'kumo runtime status' shows it).", valueName: "PORT"))
    var metricsPort = 0

    func validate() throws {
        guard let retention = Duration(parsing: eventRetention), retention.milliseconds >= 60_000 else {
            throw ValidationError("--event-retention takes a duration of at least 1m, such as 24h or 90m; got '\(eventRetention)'")
        }
        guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port takes a port from 0 to 65535") }
        guard let interval = Duration(parsing: scalingInterval), interval.milliseconds >= 100, interval.milliseconds <= 3_600_000 else {
            throw ValidationError("--scaling-interval takes a duration from 100ms to 1h, such as 15s; got '\(scalingInterval)'")
        }
    }

    /// The flags again, for the `runtime serve` a `runtime start` launches.
    var arguments: [String] { ["--event-retention", eventRetention, "--scaling-interval", scalingInterval, "--metrics-port", String(metricsPort)] }

    func apply(to options: inout Runtime.Options) {
        if let retention = Duration(parsing: eventRetention) { options.eventRetention = retention }
        if let interval = Duration(parsing: scalingInterval) { options.scalingInterval = interval }
        options.metricsPort = metricsPort
    }
}
