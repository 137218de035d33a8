import ArgumentParser
import KumoApply
import KumoPlan

/// `kumo events …`: the event language offline (test-pattern, transform, schedule) and the
/// runtime's bus (put, list, dlq, redrive, replay, fire).
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Test event patterns, transformers and schedules; put, inspect and replay events on the runtime's bus.",
        subcommands: [TestPattern.self, Transform.self, ScheduleCommand.self, Put.self, List.self, DeadLetters.self, Redrive.self, Replay.self, Fire.self]
    )
}

extension EventsCommand {
    /// Asks the project's runtime through `call`; a failure is one error line. With `json` the
    /// answer is printed as the control API's JSON. The answer is returned either way, for the
    /// command to describe (or judge) it.
    static func ask<Answer: Encodable>(_ location: RuntimeLocation, json: Bool, _ call: (RuntimeClient) async throws -> Answer) async throws -> Answer {
        let client = try RuntimeClient.connect(projectDirectory: location.absolute)
        let answer: Answer
        do { answer = try await call(client) } catch { throw fail("\(error)") }
        if json { Console.out(ControlAPI.pretty(answer) + "\n") }
        return answer
    }
}
