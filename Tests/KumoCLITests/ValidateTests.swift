import Foundation
import KumoTestSupport
import Testing

/// `kumo validate` as the README's command table describes it: warnings never fail, unset
/// secrets only with `--require-secrets`, `--timings`, custom YAML tags refused.
@Suite struct ValidateTests {
    static var fixtures: String { KumoTestSupport.fixtures() }
    static var warnings: String { fixtures + "/warnings/kumo.yaml" }

    func kumo(_ arguments: [String], environment: [String: String] = [:]) throws -> KumoTestSupport.Output {
        try KumoTestSupport.run(arguments + ["--no-color"], environment: environment)
    }

    /// "Exit 0 when valid (warnings allowed)": two warnings, each printed, and the project valid.
    @Test func warningsAloneExitZero() throws {
        let result = try kumo(["validate", ValidateTests.warnings])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("\(ValidateTests.warnings):6:5: warning: service 'api' has no healthcheck"), "\(result.stderr)")
        #expect(result.stderr.contains("\(ValidateTests.warnings):8:18: warning: secret 'API_TOKEN' is not set in the environment; the runtime will need it"), "\(result.stderr)")
        #expect(result.stderr.contains("0 errors, 2 warnings"), "\(result.stderr)")
        #expect(result.stdout == "Project 'warnings' is valid (0 functions, 1 services, 0 scaling policies, 0 rules).\n", "\(result.stdout)")
        // The JSON form says the same, with exit 0.
        let json = try kumo(["validate", "--json", ValidateTests.warnings])
        #expect(json.status == 0)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(list.map { $0["severity"] as? String } == ["warning", "warning"])
    }

    /// `--require-secrets` makes the unset secret an error (exit 1) at its position; set, it
    /// passes, and only the healthcheck warning is left.
    @Test func requireSecretsMakesAnUnsetSecretAnError() throws {
        let unset = try kumo(["validate", "--require-secrets", ValidateTests.warnings])
        #expect(unset.status == 1)
        #expect(unset.stderr.contains("\(ValidateTests.warnings):8:18: error: secret 'API_TOKEN' is not set in the environment\n"), "\(unset.stderr)")
        #expect(unset.stderr.contains("1 error, 1 warning"), "\(unset.stderr)")
        #expect(!unset.stdout.contains("is valid"))

        let set = try kumo(["validate", "--require-secrets", ValidateTests.warnings], environment: ["API_TOKEN": "t0ken"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stderr.contains("0 errors, 1 warning") && !set.stderr.contains("API_TOKEN"), "\(set.stderr)")
    }

    /// `--timings` prints the read, parse and validate times on standard error, and nothing
    /// else changes; without it there is no such line.
    @Test func timingsAreReportedOnlyWhenAsked() throws {
        let plain = try kumo(["validate", Support.examples + "/shop"])
        let timed = try kumo(["validate", "--timings", Support.examples + "/shop"])
        #expect(plain.status == 0 && timed.status == 0, "\(timed.stderr)")
        #expect(timed.stdout == plain.stdout)
        #expect(!plain.stderr.contains("timings:"))
        let line = try #require(timed.stderr.split(separator: "\n").first { $0.hasPrefix("timings: ") }, "\(timed.stderr)")
        #expect(line.wholeMatch(of: #/timings: read \d+ ms, parse \d+ ms, validate \d+ ms, .*total in process \d+ ms/#) != nil, "\(line)")
    }

    /// Custom tags (`!Ref`, CloudFormation's habit) are errors with the stable id
    /// `unsupported-tag`, one per tagged node, at its position.
    @Test func customTagsAreRefusedWithTheirOwnID() throws {
        let file = ValidateTests.fixtures + "/diagnostics/custom-tags.yaml"
        let result = try kumo(["validate", "--json", file])
        #expect(result.status == 1)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        let tags = list.filter { $0["id"] as? String == "unsupported-tag" }
        #expect(tags.map { $0["line"] as? Int } == [7, 9, 10], "\(list)")
        #expect(tags.allSatisfy { $0["severity"] as? String == "error" && $0["file"] as? String == file })
        let messages = tags.compactMap { $0["message"] as? String }
        #expect(messages.count == 3 && zip(messages, ["'!Split'", "'!Ref'", "'!Events'"]).allSatisfy { $0.contains($1) }, "\(messages)")
        let text = try kumo(["validate", file])
        #expect(text.status == 1 && text.stderr.contains("\(file):9:14: error: unsupported tag '!Ref'"), "\(text.stderr)")
    }
}
