import ArgumentParser
import Foundation
import KumoManifest

/// Where the project is and how to resolve it: shared by every command that reads manifests.
struct ProjectOptions: ParsableArguments {
    @Argument(help: "Manifest files or project directories (default: the current directory).")
    var paths: [String] = []

    @Option(name: .customLong("var"), help: ArgumentHelp("Set a variable, overriding the manifest.", valueName: "NAME=VALUE"))
    var variables: [String] = []

    @Option(help: "The variables stage to use (overlays 'default').")
    var stage: String?

    func validate() throws {
        for assignment in variables where !assignment.contains("=") || assignment.hasPrefix("=") {
            throw ValidationError("--var takes NAME=VALUE, got '\(assignment)'")
        }
    }

    func loadOptions(requireSecrets: Bool = false) -> LoadOptions {
        var values: [String: String] = [:]
        for assignment in variables {
            let parts = assignment.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            values[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return LoadOptions(variables: values, stage: stage, requireSecrets: requireSecrets)
    }

    func load(requireSecrets: Bool = false) -> LoadResult {
        ProjectLoader.load(paths: paths, options: loadOptions(requireSecrets: requireSecrets))
    }
}

/// Output settings: colour only on a terminal, never with `--no-color` or `NO_COLOR`.
struct OutputOptions: ParsableArguments {
    @Flag(name: .customLong("no-color"), help: "Disable coloured output (also: NO_COLOR).")
    var noColor = false

    func color(for stream: Int32) -> Bool {
        if noColor { return false }
        if let value = ProcessInfo.processInfo.environment["NO_COLOR"], !value.isEmpty { return false }
        return isatty(stream) == 1
    }
}

enum Console {
    static func out(_ text: String) {
        Array(text.utf8).withUnsafeBytes { write($0, to: STDOUT_FILENO) }
    }

    /// Text already encoded as UTF-8 (long JSON documents are written so, piece by piece).
    static func out(_ bytes: UnsafeRawBufferPointer) {
        write(bytes, to: STDOUT_FILENO)
    }

    static func err(_ text: String) {
        Array(text.utf8).withUnsafeBytes { write($0, to: STDERR_FILENO) }
    }

    /// Writes all of `text`. A reader that went away (`kumo status | head`) ends the process
    /// as SIGPIPE ends other Unix tools, instead of a crash.
    private static func write(_ text: UnsafeRawBufferPointer, to fd: Int32) {
        var bytes = text[...]
        while !bytes.isEmpty {
            let n = Foundation.write(fd, text.baseAddress! + bytes.startIndex, bytes.count)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE {
                    signal(SIGPIPE, SIG_DFL)
                    raise(SIGPIPE)
                }
                return
            }
            bytes = bytes.dropFirst(n)
        }
    }

    /// Ends the process now. A large project's tree takes longer to free than to check, and the
    /// kernel reclaims it for free; output is written unbuffered, so nothing is lost.
    static func exit(failure: Bool) -> Never {
        Foundation.exit(failure ? 1 : 0)
    }

    static func exit(code: Int32) -> Never {
        Foundation.exit(code)
    }
}

extension LoadResult {
    /// Prints diagnostics to standard error in compiler style.
    func report(color: Bool) {
        guard !diagnostics.isEmpty else { return }
        let renderer = DiagnosticRenderer(files: files, color: color)
        Console.err(renderer.render(diagnostics))
        Console.err(DiagnosticRenderer.summary(diagnostics) + "\n")
    }
}
