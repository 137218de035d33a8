import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan
import KumoState

/// The state file of a project directory, for commands that read no manifest.
struct StateFileOptions: ParsableArguments {
    @Option(name: [.customShort("C"), .customLong("dir")], help: ArgumentHelp("The project directory whose .kumo/state.db to use.", valueName: "DIR"))
    var directory = "."

    @OptionGroup var stateOptions: StateOptions

    var path: String { stateOptions.path(projectDirectory: directory) }

    func open(create: Bool) throws -> StateStore? {
        do { return try StateStore.open(path: path, create: create) } catch {
            throw fail(error.description)
        }
    }

    func snapshot() throws -> StateSnapshot {
        do { return try open(create: false)?.snapshot() ?? .empty } catch let error as StateError {
            throw fail(error.description)
        }
    }
}

extension Kumo {
    struct StateCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "state",
            abstract: "Inspect and move the state: list, show, pull, push, unlock.",
            subcommands: [List.self, ShowResource.self, Pull.self, Push.self, Unlock.self]
        )
    }
}

extension Kumo.StateCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the applied resources, one address per line.")

        @OptionGroup var file: StateFileOptions

        @Flag(help: "Print JSON: address, kind, status, applied serial and hashes per resource.")
        var json = false

        func run() async throws {
            let snapshot = try file.snapshot()
            let addresses = snapshot.resources.keys.sorted()
            if json {
                let items = addresses.map { address -> ConfigValue in
                    let r = snapshot.resources[address]!
                    return .object([("address", .string(address)), ("kind", .string(r.kind.rawValue)), ("status", .string(r.status.rawValue)),
                                    ("applied_serial", .int(r.appliedSerial)), ("spec_hash", .string(r.specHash)),
                                    ("code_hash", r.codeHash.map { .string($0) } ?? .null)])
                }
                Console.out(ConfigValue.object([("lineage", snapshot.lineage.map { .string($0) } ?? .null), ("serial", .int(snapshot.serial)), ("resources", .array(items))]).json() + "\n")
                return
            }
            var out = ""
            for address in addresses {
                let status = snapshot.resources[address]!.status
                out += status == .applied ? address + "\n" : "\(address) (\(status.rawValue))\n"
            }
            if addresses.isEmpty { Console.err("The state at \(file.path) is empty.\n") }
            Console.out(out)
        }
    }

    struct ShowResource: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one applied resource: status, hashes, dependencies and spec.")

        @Argument(help: "The resource address, e.g. function.createOrder.")
        var address: String

        @OptionGroup var file: StateFileOptions

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let snapshot = try file.snapshot()
            guard let record = snapshot.resources[address] else {
                let suggestion = Planner.suggestion(for: address, in: Set(snapshot.resources.keys))
                throw fail("no resource '\(address)' in the state at \(file.path)" + (suggestion.map { "; did you mean '\($0)'?" } ?? ""))
            }
            let secrets: ConfigValue = .array(record.secrets.keys.sorted().map { .string($0) })
            let value: ConfigValue = .object([
                ("address", .string(record.address)), ("kind", .string(record.kind.rawValue)), ("status", .string(record.status.rawValue)),
                ("applied_serial", .int(record.appliedSerial)), ("spec_hash", .string(record.specHash)),
                ("code_hash", record.codeHash.map { .string($0) } ?? .null),
                ("dependencies", .array(record.dependencies.map { .string($0) })),
                ("secrets", secrets),
                ("spec", masked(record.spec)),
            ])
            Console.out(json ? value.json() + "\n" : value.yaml())
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the whole state as versioned JSON (format_version 1).",
            discussion: "Secrets appear only as salted hashes. 'kumo state push' reads this format back.")

        @OptionGroup var file: StateFileOptions

        func run() async throws {
            let document: StateDocument
            do { document = try file.open(create: false)?.document() ?? StateDocument(snapshot: .empty) } catch let error as StateError {
                throw fail(error.description)
            }
            Console.out(document.jsonValue(kumoVersion: Kumo.version).json() + "\n")
        }
    }

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the state with a JSON document from 'kumo state pull'.",
            discussion: """
                Checked first: the format, every spec against its hash, the lineage (it must be the
                same state) and the serial (an older one is refused, as is the same serial with other
                contents). --force skips the lineage and serial checks. The replacement is one
                transaction under the state lock.
                """)

        @Argument(help: "The state document to push ('-' reads standard input).")
        var source: String

        @OptionGroup var file: StateFileOptions
        @OptionGroup var lockOptions: LockOptions

        @Flag(help: "Replace the state even when the lineage differs or the serial is older.")
        var force = false

        func run() async throws {
            let text: String
            do {
                text = source == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : try String(contentsOfFile: source, encoding: .utf8)
            } catch {
                throw fail("cannot read '\(source)': \(error.localizedDescription)")
            }
            let document: StateDocument
            do { document = try StateDocument(json: text) } catch { throw fail("\(source): \(error.description)") }
            guard let store = try file.open(create: true) else { return }
            do {
                let outcome = try store.withLock(operation: "state push", timeout: try lockOptions.seconds) { lock in
                    try store.push(document, under: lock, force: force)
                }
                switch outcome {
                case .written(let serial): Console.out("Pushed \(document.snapshot.resources.count) resources to \(file.path) (serial \(serial)).\n")
                case .unchanged: Console.out("The state already holds this document (serial \(document.snapshot.serial)); nothing written.\n")
                }
            } catch let error as CustomStringConvertible & Error {
                throw fail(error.description)
            }
        }
    }

    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a state lock left by a process that died.",
            discussion: "Give the lock id printed by the command that found the lock. Only that lock is removed.")

        @Argument(help: "The lock id.")
        var id: String

        @OptionGroup var file: StateFileOptions

        func run() async throws {
            guard let store = try file.open(create: false) else { throw fail("there is no state at \(file.path)") }
            do {
                let removed = try store.forceUnlock(id: id)
                Console.out("Removed \(removed)\(removed.isStale ? " (its process was no longer running)" : "").\n")
            } catch {
                throw fail(error.description)
            }
        }
    }
}
