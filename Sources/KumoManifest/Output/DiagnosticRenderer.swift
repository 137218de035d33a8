/// Prints diagnostics like a compiler: `file:line:col: error: message`, the source line, a caret.
public struct DiagnosticRenderer: Sendable {
    public var files: SourceFiles
    public var color: Bool

    private let fileIndex: [String: Int]

    public init(files: SourceFiles, color: Bool) {
        self.files = files
        self.color = color
        var fileIndex: [String: Int] = [:]
        for (i, path) in files.paths.enumerated() where fileIndex[path] == nil { fileIndex[path] = i }
        self.fileIndex = fileIndex
    }

    private func paint(_ text: String, _ code: String) -> String {
        color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    public func render(_ diagnostic: Diagnostic) -> String {
        var index: [Int: [Int]] = [:]
        return render(diagnostic, lineIndex: &index)
    }

    /// Renders one diagnostic; `lineIndex` caches each file's line starts across calls, so a
    /// report of many diagnostics reads each file once.
    func render(_ diagnostic: Diagnostic, lineIndex: inout [Int: [Int]]) -> String {
        var location = ""
        if let file = diagnostic.file {
            location = file
            if let line = diagnostic.line, let column = diagnostic.column { location += ":\(line):\(column)" }
            location += ": "
        }
        let severity = diagnostic.severity == .error ? paint("error", "1;31") : paint("warning", "1;33")
        var out = paint(location, "1") + severity + ": " + paint(diagnostic.message, "1") + "\n"
        if let file = diagnostic.file, let line = diagnostic.line, let column = diagnostic.column,
            let index = fileIndex[file]
        {
            let id = SourceFileID(Int32(index))
            if lineIndex[index] == nil { lineIndex[index] = files.lineStarts(id) }
            guard let text = files.line(Int32(line), in: id, starts: lineIndex[index]!) else { return out + keyPathLine(diagnostic) }
            let shown = text.count > 160 ? String(text.prefix(160)) + "…" : text
            let gutter = String(line)
            out += " \(gutter) | \(shown.replacing("\t", with: " "))\n"
            // Columns count characters, as the shown line does (tabs are shown as one space).
            let caretPad = String(repeating: " ", count: max(0, min(column - 1, 160, text.count)))
            var width = 1
            if diagnostic.endLine == diagnostic.line, let end = diagnostic.endColumn, end > column { width = min(end - column, max(1, 160 - column)) }
            out += " \(String(repeating: " ", count: gutter.count)) | \(caretPad)" + paint("^" + String(repeating: "~", count: max(0, width - 1)), "1;32") + "\n"
        }
        return out + keyPathLine(diagnostic)
    }

    private func keyPathLine(_ diagnostic: Diagnostic) -> String {
        guard let keyPath = diagnostic.keyPath, !keyPath.isEmpty else { return "" }
        return "   = at: \(keyPath)\n"
    }

    public func render(_ diagnostics: [Diagnostic]) -> String {
        var lineIndex: [Int: [Int]] = [:]
        var out = ""
        for diagnostic in diagnostics { out += render(diagnostic, lineIndex: &lineIndex) }
        return out
    }

    /// `N errors, M warnings` for the end of a report.
    public static func summary(_ diagnostics: [Diagnostic]) -> String {
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.count - errors
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        return "\(plural(errors, "error")), \(plural(warnings, "warning"))"
    }

    /// Diagnostics as a JSON list (`kumo validate --json`).
    public static func json(_ diagnostics: [Diagnostic]) -> ConfigValue {
        .array(diagnostics.map { d in
            var f: [(String, ConfigValue)] = [("severity", .string(d.severity.rawValue)), ("id", .string(d.id)), ("message", .string(d.message))]
            f.append(("file", d.file.map(ConfigValue.string) ?? .null))
            f.append(("line", d.line.map(ConfigValue.int) ?? .null))
            f.append(("column", d.column.map(ConfigValue.int) ?? .null))
            f.append(("endLine", d.endLine.map(ConfigValue.int) ?? .null))
            f.append(("endColumn", d.endColumn.map(ConfigValue.int) ?? .null))
            f.append(("keyPath", d.keyPath.map(ConfigValue.string) ?? .null))
            return .object(f)
        })
    }
}
