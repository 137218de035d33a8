import ArgumentParser
import KumoManifest
import KumoRuntime

/// How a runtime runs, beyond where: the same flags on `runtime start`, `runtime serve` and `up`.
struct RuntimeSettings: ParsableArguments {
    @Option(help: ArgumentHelp("How long the event bus archives accepted events for 'kumo events replay' (e.g. 24h, 30m).", valueName: "DURATION"))
    var eventRetention = "24h"

    func validate() throws {
        guard let retention = Duration(parsing: eventRetention), retention.milliseconds >= 60_000 else {
            throw ValidationError("--event-retention takes a duration of at least 1m, such as 24h or 90m; got '\(eventRetention)'")
        }
    }

    /// The flags again, for the `runtime serve` a `runtime start` launches.
    var arguments: [String] { ["--event-retention", eventRetention] }

    func apply(to options: inout Runtime.Options) {
        if let retention = Duration(parsing: eventRetention) { options.eventRetention = retention }
    }
}
