import Foundation
import KumoTestSupport
import Testing

/// Runs the built `kumo` binary as a user would: validate, config, help and colour.
@Suite(.serialized) struct CLITests {
    func kumo(_ arguments: [String], environment: [String: String] = [:]) throws -> KumoTestSupport.Output {
        try KumoTestSupport.run(arguments, environment: environment)
    }

    static var examples: String { Support.examples }

    /// A manifest with one unknown key (`memroy`, line 8).
    static var unknownKey: String { KumoTestSupport.fixtures() + "/diagnostics/unknown-key.yaml" }

    @Test func examplesValidate() throws {
        for example in ["hello", "shop"] {
            let result = try kumo(["validate", CLITests.examples + "/" + example])
            #expect(result.status == 0, "\(example): \(result.stderr)")
            #expect(result.stdout.contains("is valid"))
        }
    }

    @Test func invalidManifestPrintsCompilerStyleDiagnostics() throws {
        let fixture = CLITests.unknownKey
        try #require(FileManager.default.fileExists(atPath: fixture))
        let result = try kumo(["validate", fixture])
        #expect(result.status == 1)
        // file:line:column: error: message, then the source line, a caret and the key path.
        let lines = result.stderr.split(separator: "\n").map(String.init)
        let first = try #require(lines.first)
        #expect(first.hasPrefix(fixture + ":"))
        #expect(first.contains(": error: unknown key"))
        #expect(lines.count >= 4)
        #expect(lines[1].contains("|"))
        #expect(lines[2].contains("^"))
        #expect(lines[3].contains("= at: functions."))
        #expect(!result.stderr.contains("\u{1B}["), "no colour without a terminal")
    }

    /// Careless input gets one line that names what is wrong, and exit 1 (issue 15.9): no usage
    /// text, no exit 64, no Foundation error text, no silent acceptance.
    @Test func carelessInputIsRefusedInOneClearLine() throws {
        try KumoTestSupport.withTemporaryDirectory { directory in try carelessInputIsRefused(in: directory) }
    }

    func carelessInputIsRefused(in directory: String) throws {
        let empty = directory + "/empty.yaml"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let emptyManifest = try kumo(["validate", empty, "--no-color"])
        #expect(emptyManifest.status == 1 && emptyManifest.stderr.contains("no manifest documents found in \(empty)"), "\(emptyManifest.stderr)")

        let parallelism = try kumo(["plan", CLITests.examples + "/hello", "--parallelism", "-3", "--state", directory + "/s.db"])
        #expect(parallelism.status == 1 && parallelism.stderr == "error: --parallelism must be at least 1, got -3\n", "\(parallelism.stderr)")

        let missing = directory + "/missing.plan"
        for arguments in [["show", missing], ["apply", missing, "--auto-approve"], ["state", "push", missing, "-C", directory]] {
            let result = try kumo(arguments)
            #expect(result.status == 1 && result.stderr == "error: \(missing): no such file\n", "\(arguments): \(result.stderr)")
        }

        let typo = try kumo(["validate", CLITests.examples + "/shop", "--var", "logLevle=debug", "--no-color"])
        #expect(typo.status == 0)
        #expect(typo.stderr.contains("warning: --var logLevle: no stage under 'variables' declares 'logLevle'; did you mean 'logLevel'?"), "\(typo.stderr)")
        let declared = try kumo(["validate", CLITests.examples + "/shop", "--var", "logLevel=debug", "--no-color"])
        #expect(declared.status == 0 && declared.stderr.isEmpty, "\(declared.stderr)")
    }

    /// `kumo validate --json`: a list of `{severity, id, message, file, line, column, endLine,
    /// endColumn, keyPath}`, here with the fixture's one mistake and its whole span.
    @Test func jsonDiagnosticsAreAListWithPositions() throws {
        let fixture = CLITests.unknownKey
        let result = try kumo(["validate", "--json", fixture])
        #expect(result.status == 1)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(list.count == 1, "\(list)")
        let first = try #require(list.first)
        #expect(Set(first.keys) == ["severity", "id", "message", "file", "line", "column", "endLine", "endColumn", "keyPath"])
        #expect(first["severity"] as? String == "error")
        #expect(first["id"] as? String == "unknown-key")
        #expect(first["message"] as? String == "unknown key 'memroy' in function 'createOrder'; did you mean 'memory'?")
        #expect(first["file"] as? String == fixture)
        #expect(first["line"] as? Int == 8)
        #expect(first["column"] as? Int == 5)
        #expect(first["endLine"] as? Int == 8)
        #expect(first["endColumn"] as? Int == 11, "the end of 'memroy'")
        #expect(first["keyPath"] as? String == "functions.createOrder.memroy")
    }

    @Test func configPrintsTheResolvedProjectInBothFormats() throws {
        let shop = CLITests.examples + "/shop"
        let yaml = try kumo(["config", shop])
        #expect(yaml.status == 0, "\(yaml.stderr)")
        #expect(yaml.stdout.hasPrefix("version: 1\nproject: shop\n"))
        let json = try kumo(["config", "--json", shop])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["project"] as? String == "shop")
        #expect((object["functions"] as? [String: Any])?.isEmpty == false)
        #expect((object["services"] as? [String: Any])?.count == 2)
        let prod = try kumo(["config", "--json", "--stage", "prod", shop])
        #expect(prod.status == 0, "\(prod.stderr)")
        #expect(prod.stdout != json.stdout, "the prod stage changes resolved values")
    }

    @Test func configMasksSecrets() throws {
        try KumoTestSupport.withTemporaryDirectory { dir in try configMasksSecrets(in: dir) }
    }

    func configMasksSecrets(in dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
        let manifest = """
            version: 1
            project: secret
            functions:
              f: { runtime: python3, handler: app.h, code: src, environment: { TOKEN: "${secret:TOKEN}" } }
            """
        try manifest.write(toFile: dir + "/kumo.yaml", atomically: true, encoding: .utf8)
        for format in [["config"], ["config", "--json"], ["validate"], ["validate", "--json"]] {
            let result = try kumo(format + [dir], environment: ["TOKEN": "s3cr3t-value"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stdout.contains("s3cr3t-value") && !result.stderr.contains("s3cr3t-value"))
        }
        let config = try kumo(["config", dir], environment: ["TOKEN": "s3cr3t-value"])
        #expect(config.stdout.contains("${secret:TOKEN}"))
    }

    @Test func varAndStageFlags() throws {
        try KumoTestSupport.withTemporaryDirectory { dir in try varAndStageFlags(in: dir) }
    }

    func varAndStageFlags(in dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
        try """
            version: 1
            project: vars
            variables: { default: { mem: 256 }, big: { mem: 2048 } }
            functions:
              f: { runtime: python3, handler: app.h, code: src, memory: "${var:mem}" }
            """.write(toFile: dir + "/kumo.yaml", atomically: true, encoding: .utf8)
        #expect(try kumo(["config", dir]).stdout.contains("memory: 256"))
        #expect(try kumo(["config", "--stage", "big", dir]).stdout.contains("memory: 2048"))
        #expect(try kumo(["config", "--stage", "big", "--var", "mem=512", dir]).stdout.contains("memory: 512"))
        let bad = try kumo(["config", "--var", "nonsense", dir])
        #expect(bad.status != 0)
    }

    @Test func versionAndHelp() throws {
        let version = try kumo(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
        for command in [["--help"], ["validate", "--help"], ["config", "--help"]] {
            let help = try kumo(command)
            #expect(help.status == 0)
            #expect(help.stdout.contains("USAGE"))
        }
    }

    func kumoOnTerminal(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        try KumoTestSupport.runOnTerminal(arguments, environment: environment)
    }

    @Test func colourOnlyOnATerminalAndNeverWhenAskedNotTo() throws {
        let fixture = CLITests.unknownKey
        let coloured = try kumoOnTerminal(["validate", fixture])
        #expect(coloured.contains("\u{1B}[1;31merror\u{1B}[0m"))
        let flag = try kumoOnTerminal(["validate", "--no-color", fixture])
        #expect(flag.contains("error: unknown key") && !flag.contains("\u{1B}["))
        let environment = try kumoOnTerminal(["validate", fixture], environment: ["NO_COLOR": "1"])
        #expect(environment.contains("error: unknown key") && !environment.contains("\u{1B}["))
    }

    @Test func anEndlessFileIsRefusedAtTheLimit() throws {
        // /dev/zero reports size 0 and never ends: reading must stop at the size limit.
        let result = try kumo(["validate", "/dev/zero"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("/dev/zero:1:1: error: file is at least"))
        #expect(result.stderr.contains("over the limit of"))
    }

    @Test func missingPathIsAClearError() throws {
        let result = try kumo(["validate", "/nonexistent/kumo.yaml"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no such file or directory: /nonexistent/kumo.yaml"))
    }
}
