import ArgumentParser

/// `kumo events …`: the event language offline (test-pattern, transform, schedule) and the
/// runtime's bus (put, list, dlq, redrive, replay, fire).
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Test event patterns, transformers and schedules; put, inspect and replay events on the runtime's bus.",
        subcommands: [TestPattern.self, Transform.self, ScheduleCommand.self, Put.self, List.self, DeadLetters.self, Redrive.self, Replay.self, Fire.self]
    )
}
