import ArgumentParser
import Foundation
import KumoState

extension Kumo.StateCommand {
    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the whole state as versioned JSON (format_version 1).",
            discussion: "Secrets appear only as salted hashes. 'kumo state push' reads this format back.")

        @OptionGroup var file: StateFileOptions
        @OptionGroup var emptyFile: EmptyStateOption

        func run() async throws {
            let document: StateDocument
            do { document = try file.open(create: false, acceptEmptyFile: emptyFile.force)?.document() ?? StateDocument(snapshot: .empty) } catch let error as StateError {
                throw fail(error.description)
            }
            Console.out(document.jsonValue(kumoVersion: Kumo.version).json() + "\n")
        }
    }
}
