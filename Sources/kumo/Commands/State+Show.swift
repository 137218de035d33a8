import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan

extension Kumo.StateCommand {
    struct ShowResource: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one applied resource: status, hashes, dependencies and spec.")

        @Argument(help: "The resource address, e.g. function.createOrder.")
        var address: String

        @OptionGroup var file: StateFileOptions
        @OptionGroup var emptyFile: EmptyStateOption

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let snapshot = try file.snapshot(acceptEmptyFile: emptyFile.force)
            guard let record = snapshot.resources[address] else {
                let suggestion = Suggestion.closest(to: address, in: snapshot.resources.keys.sorted())
                throw fail("no resource '\(address)' in the state at \(try file.path)" + (suggestion.map { "; did you mean '\($0)'?" } ?? ""))
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
}
