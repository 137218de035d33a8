import ArgumentParser
import Foundation
import KumoManifest

extension Kumo.StateCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the applied resources, one address per line.")

        @OptionGroup var file: StateFileOptions
        @OptionGroup var emptyFile: EmptyStateOption

        @Flag(help: "Print JSON: address, kind, status, applied serial and hashes per resource.")
        var json = false

        func run() async throws {
            let snapshot = try file.snapshot(acceptEmptyFile: emptyFile.force)
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
            if addresses.isEmpty { Console.err("The state at \(try file.path) is empty.\n") }
            Console.out(out)
        }
    }
}
