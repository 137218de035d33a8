import Foundation

/// Checks `code:` paths: relative to the file that names them, existing, and inside the project
/// directory (neither `..` nor a symlink may lead out). Results are cached per file and path.
struct CodeChecker: Sendable {
    let root: String
    let realRoot: String
    let files: SourceFiles
    /// Results by file and path: a large project names the same few directories many times.
    private var cache: [SourceFileID: [String: Result<String, CodeProblem>]] = [:]
    private var directories: [SourceFileID: String] = [:]

    struct CodeProblem: Error, Sendable {
        var id: String
        var message: String
    }

    /// Paths of stored (canonical) specs: already resolved relative to the project directory,
    /// so they are only checked to stay inside it, not looked up on disk.
    private var stored = false

    init(storedSpecs files: SourceFiles) {
        self.root = "/"
        self.realRoot = "/"
        self.files = files
        self.stored = true
    }

    init(root: String, files: SourceFiles) {
        let absolute = CodeChecker.normalize(CodeChecker.absolute(root))
        self.root = absolute
        self.realRoot = CodeChecker.realpath(absolute) ?? absolute
        self.files = files
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Removes `.` and `..` components textually.
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func realpath(_ path: String) -> String? {
        guard let resolved = Foundation.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isInside(_ path: String, _ root: String) -> Bool {
        path == root || path.hasPrefix(root == "/" ? "/" : root + "/")
    }

    /// Returns the path relative to the project directory, or reports why it is unusable.
    mutating func check(_ code: String, at node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, reader: inout Reader) -> String? {
        let file = node.range.file
        let result: Result<String, CodeProblem>
        if stored {
            let escapes = code.isEmpty || code.hasPrefix("/") || code.split(separator: "/").contains("..")
            if !escapes { return code }
            reader.error("path-escapes-project", "'code' in \(ctx()): '\(code)' must be a path inside the project directory", node, path())
            return nil
        }
        if let cached = cache[file]?[code] {
            result = cached
        } else {
            let fileDirectory = directories[file] ?? (files.path(file) as NSString).deletingLastPathComponent
            directories[file] = fileDirectory
            result = resolve(code, from: fileDirectory)
            cache[file, default: [:]][code] = result
        }
        switch result {
        case .success(let relative):
            return relative
        case .failure(let problem):
            reader.error(problem.id, "'code' in \(ctx()): \(problem.message)", node, path())
            return nil
        }
    }

    private func resolve(_ code: String, from fileDirectory: String) -> Result<String, CodeProblem> {
        if code.isEmpty { return .failure(CodeProblem(id: "invalid-path", message: "the path is empty")) }
        if code.hasPrefix("/") {
            return .failure(CodeProblem(id: "path-escapes-project", message: "'\(code)' is absolute; give a path inside the project directory, relative to this file"))
        }
        let joined = CodeChecker.normalize(CodeChecker.absolute(fileDirectory) + "/" + code)
        guard CodeChecker.isInside(joined, root) else {
            return .failure(CodeProblem(id: "path-escapes-project", message: "'\(code)' leads out of the project directory \(root)"))
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: joined, isDirectory: &isDirectory) else {
            return .failure(CodeProblem(id: "path-not-found", message: "'\(code)' does not exist (looked for \(joined))"))
        }
        guard let real = CodeChecker.realpath(joined), CodeChecker.isInside(real, realRoot) else {
            return .failure(CodeProblem(id: "path-escapes-project", message: "'\(code)' is a symlink that leads out of the project directory"))
        }
        guard isDirectory.boolValue else {
            return .failure(CodeProblem(id: "path-not-directory", message: "'\(code)' is a file; 'code' names a directory"))
        }
        let relative = joined == root ? "." : String(joined.dropFirst(root == "/" ? 1 : root.count + 1))
        return .success(relative)
    }

    /// Stored specs were checked on disk when they were planned: they are not checked again.
    func isExecutable(_ relative: String) -> Bool {
        stored || FileManager.default.isExecutableFile(atPath: root + "/" + relative)
    }
}
