import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan
import KumoApply
import KumoState

extension Kumo {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each resource: its state, warm and busy workers or replicas, and its last error.")

        @OptionGroup var location: RuntimeLocation
        @OptionGroup var stateOptions: StateOptions

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let directory = location.absolute
            let statePath = try stateOptions.path(projectDirectory: directory)
            try stateOptions.refuseEmptyFile(statePath)
            let state = (try? StateLocation(statePath).open(create: false, acceptEmptyFile: stateOptions.force)?.snapshot()) ?? .empty
            var status: ControlAPI.Status?
            if let info = RuntimeInfo.load(projectDirectory: directory) { status = try await RuntimeClient(info: info).status() }
            let report = StatusReport(state: state, runtime: status)
            if json {
                Console.out(report.json + "\n")
                return
            }
            if let daemon = status?.runtime {
                Console.out("runtime \(daemon.pid) on 127.0.0.1:\(daemon.gatewayPort); isolation: \(daemon.isolation.isEmpty ? "unknown" : daemon.isolation)\n")
            } else {
                Console.out(RuntimeInfo.notRunning(projectDirectory: directory) + "\n")
            }
            let table = report.table
            let widths = (0..<3).map { column in table.map { $0[column].count }.max() ?? 0 }
            for line in table {
                Console.out((0..<3).map { line[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + line[3] + "\n")
            }
        }
    }
}
