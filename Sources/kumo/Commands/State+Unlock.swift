import ArgumentParser
import Foundation

extension Kumo.StateCommand {
    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a state lock left by a process that died.",
            discussion: "Give the lock id printed by the command that found the lock. Only that lock is removed.")

        @Argument(help: "The lock id.")
        var id: String

        @OptionGroup var file: StateFileOptions
        @OptionGroup var emptyFile: EmptyStateOption

        func run() async throws {
            guard let store = try file.open(create: false, acceptEmptyFile: emptyFile.force) else { throw fail("there is no state at \(try file.path)") }
            do {
                let removed = try store.forceUnlock(id: id)
                Console.out("Removed \(removed)\(removed.isStale ? " (its process was no longer running)" : "").\n")
            } catch {
                throw fail(error.description)
            }
        }
    }
}
