import Foundation

/// How a project is loaded: command-line variables, stage, environment and limits.
public struct LoadOptions: Sendable {
    /// `--var NAME=VALUE` overrides, applied last.
    public var variables: [String: String]
    /// `--stage NAME`: which `variables` block overlays `default`.
    public var stage: String?
    /// The environment `${env:…}` and `${secret:…}` read.
    public var environment: [String: String]
    public var limits: LoadLimits
    /// When true an unset `${secret:…}` is an error (plan, apply); otherwise a warning (validate).
    public var requireSecrets: Bool

    public init(
        variables: [String: String] = [:], stage: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        limits: LoadLimits = .default, requireSecrets: Bool = false
    ) {
        self.variables = variables
        self.stage = stage
        self.environment = environment
        self.limits = limits
        self.requireSecrets = requireSecrets
    }
}

/// The outcome of loading: the project when there were no errors, and every diagnostic.
public struct LoadResult: Sendable {
    public var project: Project?
    public var diagnostics: [Diagnostic]
    public var files: SourceFiles
    /// Wall-clock time of each phase (read, parse, validate), for `--timings` and benchmarks.
    public var timings: [(phase: String, seconds: Double)] = []
    /// The parsed documents with their source positions, for tools that point into the files.
    /// Keeping them here also lets a command exit without spending time freeing a large tree.
    public var documents: [Node] = []

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// Loads manifests from files and directories into one validated ``Project``.
public enum ProjectLoader {

    /// Loads PATHs: YAML files, or directories whose `*.yaml`/`*.yml` files (not recursive) form the project.
    public static func load(paths: [String], options: LoadOptions = LoadOptions()) -> LoadResult {
        let clock = ContinuousClock()
        let start = clock.now
        var files = SourceFiles()
        var problems: [Diagnostic] = []
        var sources: [(String, [UInt8])] = []
        let inputs = paths.isEmpty ? ["."] : paths
        var root: String?
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                problems.append(Diagnostic(severity: .error, id: "path-not-found", message: "no such file or directory: \(input)", file: input, line: nil, column: nil))
                continue
            }
            if isDirectory.boolValue {
                root = root ?? input
                let names = (try? FileManager.default.contentsOfDirectory(atPath: input)) ?? []
                let manifests = names.filter { ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) && !$0.hasPrefix(".") }.sorted()
                if manifests.isEmpty {
                    problems.append(Diagnostic(severity: .error, id: "no-manifests", message: "no *.yaml or *.yml files in directory \(input)", file: input, line: nil, column: nil))
                }
                for name in manifests {
                    let path = input.hasSuffix("/") ? input + name : input + "/" + name
                    if let bytes = read(path, limit: options.limits.maxFileSize, problems: &problems) { sources.append((path, bytes)) }
                }
            } else {
                root = root ?? (input as NSString).deletingLastPathComponent
                if let bytes = read(input, limit: options.limits.maxFileSize, problems: &problems) { sources.append((input, bytes)) }
            }
        }
        var root_ = root ?? "."
        if root_.isEmpty { root_ = "." }
        let readTime = clock.now - start
        if sources.isEmpty && !problems.isEmpty {
            return LoadResult(project: nil, diagnostics: Diagnostic.sorted(problems), files: files)
        }
        var result = load(sources: sources, root: root_, options: options, files: &files)
        result.timings.insert(("read", readTime.seconds), at: 0)
        result.diagnostics = Diagnostic.sorted(problems + result.diagnostics)
        if !problems.isEmpty { result.project = nil }
        return result
    }

    private static func read(_ path: String, limit: Int, problems: inout [Diagnostic]) -> [UInt8]? {
        switch readAll(path, limit: limit) {
        case .bytes(let bytes):
            return bytes
        case .tooLarge(let size, let exact):
            problems.append(Diagnostic(severity: .error, id: "file-too-large", message: "file is \(exact ? "" : "at least ")\(size) bytes, over the limit of \(limit) bytes", file: path, line: 1, column: 1))
        case .failed(let code):
            problems.append(Diagnostic(severity: .error, id: "unreadable", message: "cannot read \(path): \(String(cString: strerror(code)))", file: path, line: nil, column: nil))
        }
        return nil
    }

    private enum ReadOutcome {
        case bytes([UInt8])
        /// At least this many bytes: reading stops at the limit, so a device or a growing
        /// file cannot make kumo read forever.
        case tooLarge(Int, exact: Bool)
        case failed(Int32)
    }

    /// Reads a whole file straight into a byte array (no intermediate `Data`), refusing it as
    /// soon as it is known to exceed `limit` bytes (from its size, or while reading).
    private static func readAll(_ path: String, limit: Int) -> ReadOutcome {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failed(errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failed(errno) }
        let size = max(Int(info.st_size), 0)
        if size > limit { return .tooLarge(size, exact: true) }
        var bytes = [UInt8]()
        var capacity = min(size, limit) + 1
        while true {
            var failure: Int32?
            var filled = bytes.count
            bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                for i in 0..<filled { buffer[i] = bytes[i] }
                while filled < capacity {
                    let n = Glibc.read(fd, buffer.baseAddress! + filled, capacity - filled)
                    if n < 0 { if errno == EINTR { continue }; failure = errno; break }
                    if n == 0 { break }
                    filled += n
                }
                count = filled
            }
            if let failure { return .failed(failure) }
            if filled < capacity { return .bytes(bytes) }
            if filled > limit { return .tooLarge(filled, exact: false) }
            capacity = min(capacity * 2, limit + 1)  // the file is larger than its size said
        }
    }

    /// Loads in-memory sources (used by tests and the fuzzer); `root` is the project directory.
    public static func load(sources: [(path: String, bytes: [UInt8])], root: String, options: LoadOptions = LoadOptions()) -> LoadResult {
        var files = SourceFiles()
        var result = load(sources: sources, root: root, options: options, files: &files)
        result.diagnostics = Diagnostic.sorted(result.diagnostics)
        return result
    }

    private static func load(sources: [(String, [UInt8])], root: String, options: LoadOptions, files: inout SourceFiles) -> LoadResult {
        var documents: [Node] = []
        var ids: [SourceFileID] = []
        for (path, bytes) in sources { ids.append(files.add(path: path, bytes: bytes)) }
        var sink = DiagnosticSink(files: files)
        let clock = ContinuousClock()
        let start = clock.now
        for (id, (_, bytes)) in zip(ids, sources) {
            documents += YAMLLoader.load(bytes: bytes, file: id, limits: options.limits, sink: &sink)
        }
        let parsed = clock.now
        var assembler = ProjectAssembler(sink: sink, root: root, options: options)
        let project = assembler.assemble(documents.map(\.ref))
        let diagnostics = assembler.reader.sink.diagnostics
        let failed = diagnostics.contains { $0.severity == .error }
        var result = LoadResult(project: failed ? nil : project, diagnostics: diagnostics, files: files)
        result.documents = documents
        result.timings = [("parse", (parsed - start).seconds), ("validate", (clock.now - parsed).seconds)]
        result.timings += assembler.timings.map { ("  " + $0.0, $0.1) }
        return result
    }
}

extension Swift.Duration {
    /// The duration in seconds, for timing reports.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
