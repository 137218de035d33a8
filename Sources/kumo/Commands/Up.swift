import ArgumentParser
import Foundation
import KumoPlan
import KumoApply
import KumoRuntime

extension Kumo {
    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the runtime in the foreground, apply the project and stream its logs; Ctrl-C stops everything.",
            discussion: "Like 'docker compose up': no confirmation, output of every function and service on the terminal.")

        @OptionGroup var project: ProjectOptions
        @OptionGroup var planning: PlanningOptions
        @OptionGroup var stateOptions: StateOptions
        @OptionGroup var lockOptions: LockOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var settings: RuntimeSettings

        @Option(help: "Gateway port on 127.0.0.1.")
        var gatewayPort = 3000

        func run() async throws {
            let loaded = project.load(requireSecrets: true)
            guard let resolved = loaded.project else {
                loaded.report(color: output.color(for: 2))
                throw ExitCode.failure
            }
            if let running = RuntimeInfo.load(projectDirectory: resolved.directory) {
                throw fail("a runtime is already running for \(resolved.directory) (pid \(running.pid)); use 'kumo apply', or stop it with 'kumo runtime stop'")
            }
            let statePath = try stateOptions.path(projectDirectory: resolved.directory, project: resolved)
            try stateOptions.refuseEmptyFile(statePath)
            let echo: @Sendable (String, String) -> Void = { address, line in Console.out(address + " | " + line) }
            var options = Runtime.Options(projectDirectory: resolved.directory, statePath: statePath, gatewayPort: gatewayPort, version: Kumo.version, echo: echo,
                                          acceptEmptyStateFile: stateOptions.force)
            settings.apply(to: &options)
            let runtime = try Runtime(options: options)
            let signals = stopOnSignals(runtime)
            let info: RuntimeInfo
            do { info = try await runtime.start() } catch {
                await runtime.stop()
                throw fail("\(error)")
            }
            let ok = try await ApplyRun(project: project, planning: planning, stateOptions: stateOptions, lockOptions: lockOptions, output: output,
                                         autoApprove: true, destroy: false, loaded: loaded).run(planFile: nil)
            if ok {
                Console.out("\nKumo is up: gateway http://127.0.0.1:\(info.gatewayPort) — Ctrl-C stops everything.\n")
                await runtime.waitUntilStopped()
            } else {
                await runtime.stop()
            }
            _ = signals
            Console.out("Stopped every process the runtime started.\n")
            Console.exit(failure: !ok)
        }
    }
}
