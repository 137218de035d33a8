import Foundation
import KumoManifest
import Testing

/// Every invalid fixture reports exactly the errors marked inline; every valid fixture loads
/// cleanly and round-trips through its resolved form.
@Suite struct FixtureTests {
    static let invalid = Fixtures.projects(in: "invalid")
    static let valid = Fixtures.projects(in: "valid")

    @Test func corpusIsLargeEnough() {
        #expect(FixtureTests.invalid.count >= 40)
        #expect(FixtureTests.valid.count >= 5)
    }

    @Test(arguments: invalid)
    func invalidFixtureReportsMarkedErrors(_ fixture: String) throws {
        let expected = Fixtures.expectations(for: fixture)
        let result = Fixtures.load(fixture)
        #expect(result.hasErrors, "\(fixture) should fail validation")
        #expect(result.project == nil)
        #expect(expected.contains { $0.severity == .error }, "\(fixture) has no # ERROR: marker")
        let checkWarnings = expected.contains { $0.severity == .warning }
        let diagnostics = result.diagnostics.filter { $0.severity == .error || checkWarnings }
        for e in expected where e.id == nil {
            Issue.record("\(fixture): the marker \(e) names no diagnostic id (write # \(e.severity == .error ? "ERROR" : "WARNING")[id]: …)")
        }
        func matches(_ e: Fixtures.Expectation, _ diagnostic: Diagnostic) -> Bool {
            e.severity == diagnostic.severity && e.id == diagnostic.id && e.line == diagnostic.line
                && e.file.hasSuffix(diagnostic.file ?? "\u{0}") && diagnostic.message.contains(e.text)
        }
        for diagnostic in diagnostics where !expected.contains(where: { matches($0, diagnostic) }) {
            Issue.record("\(fixture): unexpected \(diagnostic.severity.rawValue)[\(diagnostic.id)] at \(diagnostic.file ?? "-"):\(diagnostic.line ?? 0):\(diagnostic.column ?? 0): \(diagnostic.message)")
        }
        for e in expected where !diagnostics.contains(where: { matches(e, $0) }) {
            Issue.record("\(fixture): expected \(e) was not reported")
        }
        // Every diagnostic has a position and a message that a person can act on.
        for diagnostic in result.diagnostics where diagnostic.file != nil {
            #expect(diagnostic.line != nil && diagnostic.column != nil, "\(diagnostic.message) has no position")
        }
    }

    /// Every id the README calls stable is asserted by at least one invalid fixture's marker.
    @Test func everyStableIDInTheREADMEIsAssertedByAFixture() throws {
        let readme = try String(contentsOfFile: Fixtures.packageRoot + "/README.md", encoding: .utf8)
        // "`id` is stable\n(`unknown-key`, `type-mismatch`, …)": the ids between the parentheses.
        let start = try #require(readme.range(of: "`id` is stable"), "README.md no longer says which ids are stable")
        let list = try #require(readme[start.upperBound...].range(of: "…)"), "README.md's list of stable ids has no end")
        let ids = readme[start.upperBound..<list.lowerBound].split(separator: "`").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
        #expect(ids.count >= 15, "README.md's stable ids: \(ids)")
        let asserted = Set(FixtureTests.invalid.flatMap { Fixtures.expectations(for: $0).compactMap(\.id) })
        for id in ids {
            #expect(asserted.contains(id), "no invalid fixture asserts the stable id '\(id)' that README.md lists")
        }
    }

    @Test(arguments: valid)
    func validFixtureLoadsAndRoundTrips(_ fixture: String) throws {
        let result = Fixtures.load(fixture)
        let errors = result.errors.map { "\($0.file ?? ""):\($0.line ?? 0): \($0.message)" }
        #expect(errors.isEmpty, "\(fixture): \(errors.joined(separator: "\n"))")
        let project = try #require(result.project)

        // The resolved form is itself a manifest: reading it back gives the same project.
        let yaml = project.configValue.yaml()
        let again = ProjectLoader.load(
            sources: [(path: project.directory + "/.kumo-roundtrip.yaml", bytes: Array(yaml.utf8))],
            root: project.directory, options: LoadOptions(environment: [:]))
        #expect(again.errors.isEmpty, "\(fixture) round trip: \(again.errors.map(\.message)) in\n\(yaml)")
        guard let reloaded = again.project else { return }
        #expect(reloaded.configValue == project.configValue, "\(fixture): YAML round trip changed the project")
        #expect(reloaded.configValue.json() == project.configValue.json())
    }
}
