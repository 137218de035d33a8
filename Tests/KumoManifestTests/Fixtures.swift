import Foundation
import KumoManifest
import KumoTestSupport

/// Locates the repository and its fixtures, and parses fixture headers and inline expectations.
enum Fixtures {
    static var packageRoot: String { KumoTestSupport.packageRoot }

    static var directory: String { packageRoot + "/Tests/KumoManifestTests/Fixtures" }

    /// Fixture projects in a folder: each `*.yaml` file, and each directory holding `*.yaml` files.
    static func projects(in folder: String) -> [String] {
        let base = directory + "/" + folder
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        var result: [String] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = base + "/" + name
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                if !yamlFiles(in: path).isEmpty { result.append(folder + "/" + name) }
            } else if name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                result.append(folder + "/" + name)
            }
        }
        return result
    }

    static func yamlFiles(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { directory + "/" + $0 }
    }

    static func files(of fixture: String) -> [String] {
        let path = directory + "/" + fixture
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        return isDirectory.boolValue ? yamlFiles(in: path) : [path]
    }

    /// A line of a fixture, read leniently (fixtures may hold invalid UTF-8 on purpose).
    static func lines(of file: String) -> [String] {
        let data = FileManager.default.contents(atPath: file) ?? Data()
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// Options from `# kumo: --stage S --var k=v` and `# env: K=V` header lines.
    static func options(for fixture: String) -> LoadOptions {
        var options = LoadOptions(environment: [:])
        for file in files(of: fixture) {
            for line in lines(of: file).prefix(5) {
                if let range = line.range(of: "# kumo:") {
                    let words = line[range.upperBound...].split(separator: " ").map(String.init)
                    var i = 0
                    while i < words.count {
                        if words[i] == "--stage", i + 1 < words.count { options.stage = words[i + 1]; i += 1 }
                        if words[i] == "--var", i + 1 < words.count {
                            let parts = words[i + 1].split(separator: "=", maxSplits: 1).map(String.init)
                            options.variables[parts[0]] = parts.count > 1 ? parts[1] : ""
                            i += 1
                        }
                        i += 1
                    }
                }
                if let range = line.range(of: "# env:") {
                    for word in line[range.upperBound...].split(separator: " ") {
                        let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
                        options.environment[parts[0]] = parts.count > 1 ? parts[1] : ""
                    }
                }
            }
        }
        return options
    }

    struct Expectation: Hashable, CustomStringConvertible {
        var file: String
        var line: Int
        var severity: Diagnostic.Severity
        /// The diagnostic's stable id, from `# ERROR[id]: …` (nil when the marker names none).
        var id: String?
        var text: String
        var description: String { "\((file as NSString).lastPathComponent):\(line): \(severity.rawValue)[\(id ?? "no id")]: \(text)" }
    }

    /// The `# ERROR[id]: …` and `# WARNING[id]: …` markers of a fixture, by file and line.
    static func expectations(for fixture: String) -> [Expectation] {
        // `# ERROR[id]: text` and `# WARNING[id]: text`; a line may hold several.
        let marker = try! NSRegularExpression(pattern: "# (ERROR|WARNING)(?:\\[([a-z0-9-]+)\\])?: ")
        var result: [Expectation] = []
        for file in files(of: fixture) {
            for (index, line) in lines(of: file).enumerated() {
                let text = line as NSString
                let matches = marker.matches(in: line, range: NSRange(location: 0, length: text.length))
                for (i, match) in matches.enumerated() {
                    let end = i + 1 < matches.count ? matches[i + 1].range.location : text.length
                    let severity: Diagnostic.Severity = text.substring(with: match.range(at: 1)) == "ERROR" ? .error : .warning
                    let id = match.range(at: 2).location == NSNotFound ? nil : text.substring(with: match.range(at: 2))
                    let body = text.substring(with: NSRange(location: NSMaxRange(match.range), length: end - NSMaxRange(match.range)))
                    result.append(Expectation(file: file, line: index + 1, severity: severity, id: id, text: body.trimmingCharacters(in: .whitespaces)))
                }
            }
        }
        return result
    }

    static func load(_ fixture: String) -> LoadResult {
        let path = directory + "/" + fixture
        return ProjectLoader.load(paths: [path], options: options(for: fixture))
    }
}
