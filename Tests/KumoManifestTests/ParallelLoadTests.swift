import Foundation
import Testing

@testable import KumoManifest

/// The two-core parse must give exactly the serial parse's tree, or step aside.
@Suite struct ParallelLoadTests {
    /// A manifest over the parallel threshold: many functions, then rules after the section.
    static func manifest(functions: Int, extra: (Int) -> String = { _ in "" }) -> String {
        var text = "version: 1\nproject: big\n# a comment\nfunctions:\n"
        for i in 0..<functions {
            text += "  fn\(i):\n    runtime: python3\n    handler: app.handler\n    memory: \(128 + i % 4 * 128)\n"
            text += "    environment: { INDEX: \"\(i)\", NAME: 'fn-\(i)' }\n    events:\n      - http: { method: GET, path: \"/fn\(i)/{id}\" }\n"
            text += extra(i)
        }
        text += "rules:\n  r1:\n    pattern: { source: [a] }\n    targets: [ { function: fn1 } ]\n"
        return text
    }

    /// Loads through the public entry point (which takes the two-core path when it can).
    func loaded(_ text: String) -> ([Node], [Diagnostic]) {
        var files = SourceFiles()
        let id = files.add(path: "big.yaml", bytes: Array(text.utf8))
        var sink = DiagnosticSink(files: files)
        let documents = YAMLLoader.load(bytes: Array(text.utf8), file: id, sink: &sink)
        return (documents, sink.diagnostics)
    }

    func serial(_ text: String) -> ([Node], [Problem]) {
        var builder = Builder(file: SourceFileID(0), bytes: Array(text.utf8), limits: .default)
        let documents = builder.run()
        return (documents, builder.problems)
    }

    /// The first difference between two trees, positions included; nil when they are equal.
    func difference(_ a: Node, _ b: Node, at path: String = "$") -> String? {
        guard a.range == b.range else { return "\(path): range \(a.range) vs \(b.range)" }
        switch (a.kind, b.kind) {
        case (.scalar(let x), .scalar(let y)): return x == y ? nil : "\(path): \(x) vs \(y)"
        case (.sequence(let x), .sequence(let y)):
            guard x.count == y.count else { return "\(path): \(x.count) vs \(y.count) items" }
            for (i, (l, r)) in zip(x, y).enumerated() { if let d = difference(l, r, at: "\(path)[\(i)]") { return d } }
            return nil
        case (.mapping(let x), .mapping(let y)):
            guard x.count == y.count else { return "\(path): \(x.count) vs \(y.count) keys" }
            for (l, r) in zip(x, y) {
                let key = "\(path).\(l.key.scalar?.text ?? "?")"
                if let d = difference(l.key, r.key, at: key + "(key)") ?? difference(l.value, r.value, at: key) { return d }
            }
            return nil
        default: return "\(path): different kinds"
        }
    }

    @Test func cutParseEqualsSerialParse() throws {
        let text = ParallelLoadTests.manifest(functions: 6000)
        let bytes = Array(text.utf8)
        #expect(bytes.count > LoadLimits.default.parallelThreshold)
        let plan = try #require(ParallelLoad.plan(bytes))
        #expect(plan.sectionKey == "functions")
        let parallel = try #require(ParallelLoad.load(bytes: bytes, file: SourceFileID(0), limits: .default))
        let (documents, problems) = serial(text)
        #expect(problems.isEmpty)
        #expect(parallel.count == 1 && documents.count == 1)
        let diff = difference(parallel[0], documents[0])
        #expect(diff == nil, "\(diff ?? "")")
    }

    @Test func duplicatesAcrossTheCutAreStillFound() throws {
        // fn0 is declared again near the end, far past the cut.
        let text = ParallelLoadTests.manifest(functions: 6000) { i in i == 5990 ? "  fn0:\n    runtime: node\n" : "" }
        let (_, diagnostics) = loaded(text)
        #expect(diagnostics.map(\.id) == ["duplicate-key"])
        #expect(diagnostics.first?.message.contains("line 5") == true)
    }

    @Test func aliasesAcrossTheCutFallBackToTheSerialParse() throws {
        let text = "x-common: &common { runtime: python3 }\n" + ParallelLoadTests.manifest(functions: 6000) { i in i == 5000 ? "  shared:\n    <<: *common\n" : "" }
        #expect(ParallelLoad.load(bytes: Array(text.utf8), file: SourceFileID(0), limits: .default) == nil)
        let (documents, diagnostics) = loaded(text)
        #expect(diagnostics.isEmpty)
        #expect(documents.first?["functions"]?["shared"]?["runtime"]?.scalar?.text == "python3")
    }

    @Test func errorsAfterTheCutHaveSerialPositions() throws {
        let text = ParallelLoadTests.manifest(functions: 6000) { i in i == 5500 ? "    bad: [unclosed\n" : "" }
        let (_, diagnostics) = loaded(text)
        let (_, problems) = serial(text)
        #expect(diagnostics.map(\.line) == problems.map { Int($0.range.start.line) })
        #expect(!problems.isEmpty)
    }

    /// Inputs the fuzzer found where a cut changed the tree. The plan now declines the first
    /// two (no final newline; the middle of the file past the end of its largest section), so
    /// they are parsed serially; the other two are cut, and the joined tree must equal the
    /// serial parse. Each input says which it is, so none can pass without being compared.
    @Test(arguments: [
        ("parallel-cut-regression-1.bin", false), ("parallel-cut-regression-2.bin", false),
        ("parallel-cut-regression-3.bin", true), ("parallel-cut-regression-4.bin", true),
    ])
    func fuzzerFoundCutsMatchTheSerialParse(_ name: String, _ cut: Bool) throws {
        let bytes = try #require(FileManager.default.contents(atPath: Fixtures.directory + "/" + name)).map { $0 }
        var limits = LoadLimits.default
        limits.parallelThreshold = 0
        let parallel = ParallelLoad.load(bytes: bytes, file: SourceFileID(0), limits: limits)
        guard cut else {
            #expect(ParallelLoad.plan(bytes) == nil, "\(name): the plan should decline this input")
            #expect(parallel == nil, "\(name): the two-core parse should step aside")
            return
        }
        let joined = try #require(parallel, "\(name): the two-core parse declined an input it should cut (plan: \(String(describing: ParallelLoad.plan(bytes))))")
        var builder = Builder(file: SourceFileID(0), bytes: bytes, limits: limits)
        let documents = builder.run()
        #expect(builder.problems.isEmpty)
        #expect(documents.count == joined.count)
        for (a, b) in zip(joined, documents) {
            let diff = difference(a, b)
            #expect(diff == nil, "\(diff ?? "")")
        }
    }

    @Test func multiDocumentFilesAreNotCut() {
        let text = ParallelLoadTests.manifest(functions: 6000) + "---\nversion: 1\n"
        #expect(ParallelLoad.plan(Array(text.utf8)) == nil)
    }
}
