import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan
import KumoApply
import KumoRuntime
import KumoState

/// The project directory a runtime serves: the directory of PATH (or PATH itself).
struct RuntimeLocation: ParsableArguments {
    @Option(name: [.customShort("C"), .customLong("dir")], help: ArgumentHelp("The project directory (default: the current directory).", valueName: "DIR"))
    var directory = "."

    var absolute: String { StateLocation.resolve(explicit: directory, environment: [:], projectDirectory: ".") }
}

extension Kumo {
    struct RuntimeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "runtime",
            abstract: "Start, stop and inspect the local runtime that runs functions and services.",
            discussion: """
                The runtime listens on 127.0.0.1 only: a control API that needs the bearer token in
                .kumo/runtime.json (mode 0600), and the gateway (port 3000 unless --gateway-port) for
                http triggers and the Lambda Invoke API. Its log is .kumo/runtime.log; each function's
                and service's output is in .kumo/logs/.
                """,
            subcommands: [Start.self, Stop.self, Status.self, Serve.self]
        )
    }
}

extension Kumo.RuntimeCommand {
    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the runtime in the background.")

        @OptionGroup var location: RuntimeLocation
        @OptionGroup var stateOptions: StateOptions

        @Option(help: "Gateway port on 127.0.0.1.")
        var gatewayPort = 3000

        func run() async throws {
            let directory = location.absolute
            if let info = RuntimeInfo.load(projectDirectory: directory) {
                Console.out("The runtime is already running (pid \(info.pid), gateway 127.0.0.1:\(info.gatewayPort)).\n")
                return
            }
            let info = try startDaemon(directory: directory, statePath: stateOptions.path(projectDirectory: directory), gatewayPort: gatewayPort)
            Console.out("Runtime started (pid \(info.pid)): gateway http://127.0.0.1:\(info.gatewayPort), control API 127.0.0.1:\(info.controlPort).\nLogs: \(directory)/.kumo/runtime.log and \(directory)/.kumo/logs/\n")
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the runtime and every process it started.")

        @OptionGroup var location: RuntimeLocation

        func run() async throws {
            let directory = location.absolute
            guard let info = RuntimeInfo.load(projectDirectory: directory) else {
                Console.out("No runtime is running for \(directory).\n")
                return
            }
            try await stopRuntime(info)
            Console.out("Runtime \(info.pid) stopped.\n")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether the runtime runs, where, and what it serves.")

        @OptionGroup var location: RuntimeLocation

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let directory = location.absolute
            guard let info = RuntimeInfo.load(projectDirectory: directory) else {
                if json { Console.out("{\"running\": false}\n") } else { Console.out("No runtime is running for \(directory).\n") }
                throw ExitCode(3)
            }
            let status = try await RuntimeClient(info: info).status()
            if json {
                Console.out(((try? ConfigValue(json: String(decoding: ControlAPI.encode(status), as: UTF8.self))) ?? .null).json() + "\n")
                return
            }
            Console.out("Runtime pid \(info.pid), started \(info.startedAt)\n  gateway      http://127.0.0.1:\(info.gatewayPort)\n  control API  127.0.0.1:\(info.controlPort)\n  resources    \(status.resources.count)\n")
        }
    }

    /// The runtime process itself; `start` runs it detached, `up` in the foreground.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the runtime in the foreground (used by 'runtime start').", shouldDisplay: false)

        @OptionGroup var location: RuntimeLocation
        @OptionGroup var stateOptions: StateOptions

        @Option(help: "Gateway port on 127.0.0.1.")
        var gatewayPort = 3000

        func run() async throws {
            let directory = location.absolute
            let runtime = try Runtime(options: .init(projectDirectory: directory, statePath: stateOptions.path(projectDirectory: directory), gatewayPort: gatewayPort, version: Kumo.version))
            let signals = stopOnSignals(runtime)
            do {
                let info = try await runtime.start()
                print("runtime \(info.pid) serving \(directory): gateway 127.0.0.1:\(info.gatewayPort), control 127.0.0.1:\(info.controlPort)")
            } catch {
                Console.err("error: \(error)\n")
                await runtime.stop()
                throw ExitCode.failure
            }
            await runtime.waitUntilStopped()
            _ = signals
            print("runtime stopped")
        }
    }
}

/// Stops `runtime` on SIGINT or SIGTERM (the sources must stay alive while it runs).
func stopOnSignals(_ runtime: Runtime) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { Task { await runtime.stop() } }
        source.resume()
        return source
    }
}

/// Starts `kumo runtime serve` detached and waits until its runtime.json says it is up.
func startDaemon(directory: String, statePath: String, gatewayPort: Int) throws -> RuntimeInfo {
    let kumoDir = directory + "/.kumo"
    try FileManager.default.createDirectory(atPath: kumoDir, withIntermediateDirectories: true)
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).path
    let self_ = FileManager.default.fileExists(atPath: "/proc/self/exe") ? ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? executable) : executable
    let pid = try ChildProcess.daemon(
        argv: [self_, "runtime", "serve", "-C", directory, "--state", statePath, "--gateway-port", String(gatewayPort)],
        environment: ProcessInfo.processInfo.environment, directory: directory, logPath: kumoDir + "/runtime.log")
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
        if let info = RuntimeInfo.load(projectDirectory: directory), info.pid == pid { return info }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            let log = (try? String(contentsOfFile: kumoDir + "/runtime.log", encoding: .utf8)) ?? ""
            let lastLines = log.split(separator: "\n").suffix(5).joined(separator: "\n")
            throw ValidationError("the runtime exited at start:\n\(lastLines)")
        }
        usleep(20_000)
    }
    throw ValidationError("the runtime did not start within 30 s; see \(kumoDir)/runtime.log")
}

/// Asks the runtime to stop, and waits for its process to end (SIGTERM, then SIGKILL).
func stopRuntime(_ info: RuntimeInfo) async throws {
    try? await RuntimeClient(info: info).shutdown()
    let deadline = Date().addingTimeInterval(30)
    while RuntimeInfo.isRunning(info.pid) && Date() < deadline {
        var status: Int32 = 0
        if waitpid(info.pid, &status, WNOHANG) == info.pid { break }
        try await Task.sleep(for: .milliseconds(50))
        if Date() > deadline.addingTimeInterval(-20) { kill(info.pid, SIGTERM) }
    }
    if RuntimeInfo.isRunning(info.pid) { kill(info.pid, SIGKILL) }
}
