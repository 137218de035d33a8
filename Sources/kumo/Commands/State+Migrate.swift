import ArgumentParser
import Foundation
import KumoState

extension Kumo.StateCommand {
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the state to another backend: a SQLite file or a PostgreSQL URL, either way.",
            discussion: """
                Copies everything (resources, lineage, serial, journal, timings) in one transaction
                on each side, holding both states' locks. The lineage and serial are kept, so saved
                plans and pulled documents stay valid against the copy. A target that already holds
                a state is refused unless --force (then it is replaced, and its serial only goes up).
                Example: kumo state migrate --to 'postgres://kumo@db.internal:5432/infra?sslmode=verify-full'
                """)

        @Option(help: ArgumentHelp("Where to copy the state: a file path or a postgres:// URL (the schema defaults to kumo_<project>_<stage>).", valueName: "PATH|URL"))
        var to: String

        @OptionGroup var file: StateFileOptions
        @OptionGroup var lockOptions: LockOptions

        @Flag(help: "Replace a target that already holds a state.")
        var force = false

        func run() async throws {
            let sourceLocation = try file.path
            let targetLocation = try resolveState(StateLocation.resolve(explicit: to, environment: [:], projectDirectory: "."), projectDirectory: file.directory)
            guard sourceLocation != targetLocation else { throw fail("the source and the target are the same state (\(targetLocation))") }
            guard let source = try openState(sourceLocation, create: false, acceptEmptyFile: false) else {
                throw fail("there is no state at \(sourceLocation) to migrate")
            }
            do {
                let timeout = try lockOptions.seconds
                let (document, target, serial) = try source.withLock(operation: "state migrate", timeout: timeout) { sourceLock in
                    if let previous = sourceLock.tookOver { noteTakeover(previous) }
                    let document = try source.document()
                    guard let target = try openState(targetLocation, create: true, acceptEmptyFile: force) else { throw ExitCode.failure }
                    let serial = try target.withLock(operation: "state migrate", timeout: timeout) { targetLock in
                        if let previous = targetLock.tookOver { noteTakeover(previous) }
                        let existing = try target.snapshot()
                        if !force && (existing.lineage != nil || !existing.resources.isEmpty) {
                            throw StateError("the target \(target.location) already holds a state (lineage \(existing.lineage ?? "none"), serial \(existing.serial), \(existing.resources.count) resources); nothing was copied (use --force to replace it)")
                        }
                        return try target.replace(with: document, lineage: document.snapshot.lineage ?? UUID().uuidString.lowercased(), under: targetLock)
                    }
                    return (document, target, serial)
                }
                Console.out("Copied \(document.snapshot.resources.count) resources, \(document.journal.count) journal entries and \(document.timings.count) timings from \(source.location) to \(target.location) (lineage \(document.snapshot.lineage ?? "new"), serial \(serial)).\n")
            } catch let error as ExitCode {
                throw error
            } catch let error as CustomStringConvertible & Error {
                throw fail(error.description)
            }
        }
    }
}
