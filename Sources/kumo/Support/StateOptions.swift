import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan
import KumoState

/// Which state file to use.
struct StatePathOption: ParsableArguments {
    @Option(help: ArgumentHelp("The state file (also: KUMO_STATE; default: .kumo/state.db in the project directory).", valueName: "PATH"))
    var state: String?

    func path(projectDirectory: String) -> String {
        StateLocation.resolve(explicit: state, environment: ProcessInfo.processInfo.environment, projectDirectory: projectDirectory)
    }
}

/// `--force`: a state file of 0 bytes (a crash or a bad copy truncated it) is refused, naming
/// the file, unless the user says it may stand for an empty state. Its own group, so that a
/// command with a `--force` of its own (`state push`) leaves it out and keeps one flag.
struct EmptyStateOption: ParsableArguments {
    @Flag(help: "Use a 0-byte state file (truncated by a crash or a bad copy) as an empty state instead of refusing it; a command that writes the state initialises it.")
    var force = false
}

/// The state file and `--force`: what every command that reads the state takes.
struct StateOptions: ParsableArguments {
    @OptionGroup var file: StatePathOption
    @OptionGroup var emptyFile: EmptyStateOption

    var state: String? { file.state }
    var force: Bool { emptyFile.force }

    func path(projectDirectory: String) -> String { file.path(projectDirectory: projectDirectory) }

    /// Refuses a 0-byte state file (one line, exit 1) unless `--force`, before the command
    /// does anything else.
    func refuseEmptyFile(_ path: String) throws {
        guard !force else { return }
        do { try StateStore.refuseEmptyFile(path) } catch { throw fail(error.description) }
    }

    /// The store at `path` (nil when there is none and `create` is false); a 0-byte file is
    /// refused unless `--force`. Errors are one line, exit 1.
    func open(_ path: String, create: Bool) throws -> StateStore? {
        do { return try StateStore.open(path: path, create: create, acceptEmptyFile: force) } catch { throw fail(error.description) }
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
    try writeAtomically(Array(text.utf8), to: path, mode: mode)
}

/// Writes `bytes` to `path` atomically, as ``writeAtomically(_:to:mode:)`` writes text.
func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
    // Created with its final mode: a plan file (0600) is never readable by others, not even
    // while it is being written.
    unlink(temporary.path)
    let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw ValidationError("cannot write '\(path)': \(String(cString: strerror(errno)))") }
    var bytes = bytes[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temporary.path)
            throw ValidationError("cannot write '\(path)': \(reason)")
        }
        bytes = bytes.dropFirst(n)
    }
    fsync(fd)
    close(fd)
    fchmodat(AT_FDCWD, temporary.path, mode, 0)  // the umask may have narrowed it
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

    @OptionGroup var stateOptions: StatePathOption

    var path: String { stateOptions.path(projectDirectory: directory) }

    func validate() throws { try requireDirectory(directory) }

    /// The store (nil when there is none and `create` is false); a 0-byte file is refused
    /// unless `acceptEmptyFile` (the command's `--force`).
    func open(create: Bool, acceptEmptyFile: Bool) throws -> StateStore? {
        do { return try StateStore.open(path: path, create: create, acceptEmptyFile: acceptEmptyFile) } catch {
            throw fail(error.description)
        }
    }

    func snapshot(acceptEmptyFile: Bool) throws -> StateSnapshot {
        do { return try open(create: false, acceptEmptyFile: acceptEmptyFile)?.snapshot() ?? .empty } catch let error as StateError {
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
