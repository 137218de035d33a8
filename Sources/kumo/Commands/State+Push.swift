import ArgumentParser
import Foundation
import KumoState

extension Kumo.StateCommand {
    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the state with a JSON document from 'kumo state pull'.",
            discussion: """
                Checked first: the format, every spec against its hash, the lineage (it must be the
                same state) and the serial (an older one is refused, as is the same serial with other
                contents). --force skips the lineage and serial checks, and accepts a state file of
                0 bytes (truncated by a crash or a bad copy: pushing a pulled copy restores it). The
                replacement is one transaction under the state lock.
                """)

        @Argument(help: "The state document to push ('-' reads standard input).")
        var source: String

        @OptionGroup var file: StateFileOptions
        @OptionGroup var lockOptions: LockOptions

        @Flag(help: "Replace the state even when the lineage differs or the serial is older, or the state file is 0 bytes (truncated).")
        var force = false

        func run() async throws {
            let text = source == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : try readTextFile(source)
            let document: StateDocument
            do { document = try StateDocument(json: text) } catch { throw fail("\(source): \(error.description)") }
            guard let store = try file.open(create: true, acceptEmptyFile: force) else { return }
            do {
                let outcome = try store.withLock(operation: "state push", timeout: try lockOptions.seconds) { lock in
                    if let previous = lock.tookOver { noteTakeover(previous) }
                    return try store.push(document, under: lock, force: force)
                }
                switch outcome {
                case .written(let serial): Console.out("Pushed \(document.snapshot.resources.count) resources to \(store.location) (serial \(serial)).\n")
                case .unchanged: Console.out("The state already holds this document (serial \(document.snapshot.serial)); nothing written.\n")
                }
            } catch let error as CustomStringConvertible & Error {
                throw fail(error.description)
            }
        }
    }
}
