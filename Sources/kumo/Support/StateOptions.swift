import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan
import KumoState

/// Which state file to use and how long to wait for its lock.
struct StateOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The state file (also: KUMO_STATE; default: .kumo/state.db in the project directory).", valueName: "PATH"))
    var state: String?

    func path(projectDirectory: String) -> String {
        StateLocation.resolve(explicit: state, environment: ProcessInfo.processInfo.environment, projectDirectory: projectDirectory)
    }
}

struct LockOptions: ParsableArguments {
    @Option(help: ArgumentHelp("When the state is locked, retry for this long (e.g. 30s) instead of failing at once.", valueName: "DURATION"))
    var lockTimeout: String?

    var seconds: Double {
        get throws {
            guard let lockTimeout else { return 0 }
            guard let duration = Duration(parsing: lockTimeout) else {
                throw ValidationError("--lock-timeout takes a duration such as 30s or 2m, got '\(lockTimeout)'")
            }
            return duration.seconds
        }
    }

    func validate() throws {
        _ = try seconds
    }
}

/// Prints an error the way every command does, and fails.
func fail(_ message: String) -> ExitCode {
    Console.err("error: \(message)\n")
    return ExitCode.failure
}

/// Writes `text` to `path` atomically (a temporary file in the same directory, then rename).
func writeAtomically(_ text: String, to path: String, mode: mode_t = 0o644) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
    try Data(text.utf8).write(to: temporary)
    chmod(temporary.path, mode)
    guard rename(temporary.path, url.path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary.path)
        throw ValidationError("cannot write '\(path)': \(reason)")
    }
}

/// The state file of a project directory, for commands that read no manifest.
struct StateFileOptions: ParsableArguments {
    @Option(name: [.customShort("C"), .customLong("dir")], help: ArgumentHelp("The project directory whose .kumo/state.db to use.", valueName: "DIR"))
    var directory = "."

    @OptionGroup var stateOptions: StateOptions

    var path: String { stateOptions.path(projectDirectory: directory) }

    func validate() throws { try requireDirectory(directory) }

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

/// A whole text file named on the command line, or one line saying why it cannot be read
/// (not Foundation's error description).
func readTextFile(_ path: String) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw fail("\(path): no such file") }
    guard !isDirectory.boolValue else { throw fail("\(path): is a directory, not a file") }
    guard let data = FileManager.default.contents(atPath: path) else { throw fail("\(path): cannot be read (\(String(cString: strerror(errno))))") }
    return String(decoding: data, as: UTF8.self)
}
