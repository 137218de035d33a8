import ArgumentParser
import Foundation
import KumoPlan
import KumoRuntime

extension Kumo.RuntimeCommand {
    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the runtime in the background.")

        @OptionGroup var location: RuntimeLocation
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var settings: RuntimeSettings

        @Option(help: "Gateway port on 127.0.0.1.")
        var gatewayPort = 3000

        func run() async throws {
            let directory = location.absolute
            if let info = RuntimeInfo.load(projectDirectory: directory) {
                Console.out("The runtime is already running (pid \(info.pid), gateway 127.0.0.1:\(info.gatewayPort)).\n")
                return
            }
            let statePath = try stateOptions.path(projectDirectory: directory)
            try stateOptions.refuseEmptyFile(statePath)
            let info: RuntimeInfo
            do {
                info = try RuntimeDaemon.start(executable: Kumo.executablePath, directory: directory, statePath: statePath, gatewayPort: gatewayPort,
                                               acceptEmptyStateFile: stateOptions.force, arguments: settings.arguments)
            } catch { throw fail("\(error)") }
            Console.out("Runtime started (pid \(info.pid)): gateway http://127.0.0.1:\(info.gatewayPort), control API 127.0.0.1:\(info.controlPort).\nLogs: \(directory)/.kumo/runtime.log and \(directory)/.kumo/logs/\n")
        }
    }
}
