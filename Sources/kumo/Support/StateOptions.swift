import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan
import KumoState

/// Which state to use: a file, or a PostgreSQL URL.
struct StatePathOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The state: a file, or postgres://USER@HOST:PORT/DB?schema=NAME&sslmode=disable|require|verify-full (also: KUMO_STATE; default: .kumo/state.db in the project directory). The password comes from the URL, PGPASSWORD or ~/.pgpass; the schema defaults to kumo_<project>_<stage>.",
        valueName: "PATH|URL"))
    var state: String?

    /// The state for a project in `projectDirectory` (see ``resolveState(_:projectDirectory:project:)``).
    func path(projectDirectory: String, project: Project? = nil) throws -> String {
        try resolveState(StateLocation.resolve(explicit: state, environment: ProcessInfo.processInfo.environment, projectDirectory: projectDirectory),
                         projectDirectory: projectDirectory, project: project)
    }

    /// `--state` alone, made absolute or resolved as a URL (nil without it).
    func explicit(projectDirectory: String, project: Project? = nil) throws -> String? {
        guard let state else { return nil }
        return try resolveState(StateLocation.resolve(explicit: state, environment: [:], projectDirectory: "."), projectDirectory: projectDirectory, project: project)
    }
}

/// A state location as every command passes it on, prints it and saves it in plan files and
/// runtime.json: a path as it is; a PostgreSQL URL with its schema filled in (after the project
/// and stage, from `project` or else the manifest in `projectDirectory`) and without its
/// password. A password in the URL moves to this process's PGPASSWORD, where the store and a
/// runtime this command starts find it, so it is never printed nor seen in a process list.
func resolveState(_ text: String, projectDirectory: String, project: Project? = nil) throws -> String {
    guard StateLocation.isURL(text) else { return text }
    var location: PostgresLocation
    do { location = try PostgresLocation(url: text) } catch { throw fail(error.description) }
    if let password = location.password {
        setenv("PGPASSWORD", password, 1)
        location.password = nil
    }
    if location.schema == nil {
        let named = project ?? ProjectLoader.load(paths: [projectDirectory], options: LoadOptions()).project
        guard let named else {
            throw fail("the state URL \(location) names no schema, and there is no valid project in \(projectDirectory) to name it after: add ?schema=NAME")
        }
        location.schema = PostgresLocation.defaultSchema(project: named.name, stage: named.stage)
    }
    return location.description
}

/// Opens the state at a resolved location (nil when there is none and `create` is false);
/// errors are one line, exit 1.
func openState(_ location: String, create: Bool, acceptEmptyFile: Bool) throws -> (any StateStore)? {
    do { return try StateLocation(location).open(create: create, acceptEmptyFile: acceptEmptyFile) } catch { throw fail(error.description) }
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

    func path(projectDirectory: String, project: Project? = nil) throws -> String { try file.path(projectDirectory: projectDirectory, project: project) }

    /// Refuses a 0-byte state file (one line, exit 1) unless `--force`, before the command
    /// does anything else.
    func refuseEmptyFile(_ path: String) throws {
        guard !force else { return }
        do { try SQLiteStateStore.refuseEmptyFile(path) } catch { throw fail(error.description) }
    }

    /// The store at `path` (nil when there is none and `create` is false); a 0-byte file is
    /// refused unless `--force`. Errors are one line, exit 1.
    func open(_ path: String, create: Bool) throws -> (any StateStore)? {
        try openState(path, create: create, acceptEmptyFile: force)
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

/// Says that the state lock was taken over from a holder that died (its session with the
/// PostgreSQL server ended), naming it: on standard error, so output stays clean.
func noteTakeover(_ previous: String) {
    Console.err("Took over the state lock from a kumo command that is gone (its connection to the state ended): \(previous)\n")
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

/// The state of a project directory, for commands that read no manifest.
struct StateFileOptions: ParsableArguments {
    @Option(name: [.customShort("C"), .customLong("dir")], help: ArgumentHelp("The project directory whose state to use.", valueName: "DIR"))
    var directory = "."

    @OptionGroup var stateOptions: StatePathOption

    /// The resolved state location (a URL without its password).
    var path: String { get throws { try stateOptions.path(projectDirectory: directory) } }

    func validate() throws { try requireDirectory(directory) }

    /// The store (nil when there is none and `create` is false); a 0-byte file is refused
    /// unless `acceptEmptyFile` (the command's `--force`).
    func open(create: Bool, acceptEmptyFile: Bool) throws -> (any StateStore)? {
        try openState(try path, create: create, acceptEmptyFile: acceptEmptyFile)
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
