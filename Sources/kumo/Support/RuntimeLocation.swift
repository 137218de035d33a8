import ArgumentParser
import Foundation
import KumoRuntime
import KumoState

/// The project directory a runtime serves: the directory of PATH (or PATH itself).
struct RuntimeLocation: ParsableArguments {
    @Option(name: [.customShort("C"), .customLong("dir")], help: ArgumentHelp("The project directory (default: the current directory).", valueName: "DIR"))
    var directory = "."

    var absolute: String { StateLocation.resolve(explicit: directory, environment: [:], projectDirectory: ".") }

    func validate() throws { try requireDirectory(directory) }
}

/// `-C DIR` must name a directory that exists: nothing is created under a path the user
/// mistyped (one line, exit 1).
func requireDirectory(_ path: String) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw fail("-C \(path): no such directory")
    }
    guard isDirectory.boolValue else { throw fail("-C \(path): not a directory (give the project directory)") }
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

extension Kumo {
    /// This executable, for starting `kumo runtime serve` as a daemon.
    static var executablePath: String {
        let argument = URL(fileURLWithPath: CommandLine.arguments[0]).path
        return (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? argument
    }
}
