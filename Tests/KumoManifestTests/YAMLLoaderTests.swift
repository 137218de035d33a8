import Foundation
import Testing

@testable import KumoManifest

@Suite struct YAMLLoaderTests {
    func load(_ text: String, limits: LoadLimits = .default) -> ([Node], [Diagnostic]) {
        var files = SourceFiles()
        let id = files.add(path: "test.yaml", bytes: Array(text.utf8))
        var sink = DiagnosticSink(files: files)
        let nodes = YAMLLoader.load(bytes: Array(text.utf8), file: id, limits: limits, sink: &sink)
        return (nodes, sink.diagnostics)
    }

    @Test func marksAreOneBasedAndCoverTheNode() throws {
        let (docs, diagnostics) = load("a: 1\nbb:\n  - xyz\n")
        #expect(diagnostics.isEmpty)
        let root = try #require(docs.first)
        let item = try #require(root["bb"]?.items?.first)
        #expect(item.range.start == Mark(line: 3, column: 5))
        #expect(item.range.end == Mark(line: 3, column: 8))
        #expect(root["a"]?.range.start == Mark(line: 1, column: 4))
    }

    @Test func scalarsKeepTextStyleAndTag() throws {
        let (docs, _) = load("a: no\nb: '0755'\nc: !!str 12\nd: 2122:22\ne: |\n  x\n")
        let root = try #require(docs.first)
        #expect(root["a"]?.scalar == Scalar(text: "no", style: .plain))
        #expect(root["b"]?.scalar == Scalar(text: "0755", style: .singleQuoted))
        #expect(root["c"]?.scalar?.tag == .str)
        #expect(root["d"]?.scalar?.text == "2122:22")
        #expect(root["e"]?.scalar?.style == .literal)
    }

    @Test func mappingsKeepKeyOrder() throws {
        let (docs, _) = load("z: 1\na: 2\nm: 3\n")
        let keys = try #require(docs.first?.pairs).map { $0.key.scalar!.text }
        #expect(keys == ["z", "a", "m"])
    }

    @Test func aliasesAndMergeKeys() throws {
        let text = """
            base: &base { memory: 256, timeout: 10s }
            extra: &extra { timeout: 20s, concurrency: 5 }
            f:
              <<: [*base, *extra]
              memory: 512
            g: *base
            """
        let (docs, diagnostics) = load(text)
        #expect(diagnostics.isEmpty)
        let root = try #require(docs.first)
        let f = try #require(root["f"])
        #expect(f["memory"]?.scalar?.text == "512")      // explicit key wins
        #expect(f["timeout"]?.scalar?.text == "10s")     // earlier merge source wins
        #expect(f["concurrency"]?.scalar?.text == "5")
        #expect(f.pairs?.count == 3)
        #expect(root["g"]?["memory"]?.scalar?.text == "256")
        #expect(root["g"]?.range.start.line == 6)        // an alias reports its own position
    }

    @Test func aSecondMergeKeyIsADuplicateKey() {
        let (docs, diagnostics) = load("a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n")
        #expect(diagnostics.map(\.id) == ["duplicate-key"])
        #expect(diagnostics.first?.line == 5)
        #expect(docs.first?["c"]?["x"]?.scalar?.text == "1")
    }

    @Test func billionLaughsFailsFast() throws {
        var text = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        var previous = "a"
        for name in ["b", "c", "d", "e", "f", "g", "h", "i", "j"] {
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
            previous = name
        }
        let clock = ContinuousClock()
        var diagnostics: [Diagnostic] = []
        let elapsed = clock.measure { diagnostics = load(text).1 }
        #expect(diagnostics.map(\.id) == ["alias-budget"])
        // Not a timing assertion on speed, a guard against a hang: the budget stops it early.
        #expect(elapsed < .seconds(5))
    }

    @Test func unknownAliasIsAnError() {
        let (_, diagnostics) = load("a: *nope\n")
        #expect(diagnostics.first?.id == "unknown-alias")
        #expect(diagnostics.first?.line == 1)
    }

    @Test func deepNestingIsAnError() {
        let text = "x: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n"
        let (_, diagnostics) = load(text)
        #expect(diagnostics.map(\.id) == ["too-deep"])
    }

    @Test func aliasesCannotStackNestingPastTheLimit() {
        // Each anchor nests 40 levels and pastes the previous one: 4 of them exceed 128.
        var text = "a0: &a0 {n: 1}\n"
        for k in 1...4 {
            text += "a\(k): &a\(k) " + String(repeating: "{n: ", count: 40) + "*a\(k - 1)" + String(repeating: "}", count: 40) + "\n"
        }
        let (_, diagnostics) = load(text)
        #expect(diagnostics.map(\.id) == ["too-deep"])
        #expect(diagnostics.first?.line == 5)
    }

    @Test func byteOrderMarkIsSkipped() throws {
        let (docs, diagnostics) = load("\u{FEFF}a: 1\nb: 2\n")
        #expect(diagnostics.isEmpty)
        #expect(docs.first?["a"]?.range.start == Mark(line: 1, column: 4))
    }

    @Test func oversizedInputIsRefused() {
        let (docs, diagnostics) = load("a: 1\n" + String(repeating: "# pad\n", count: 100), limits: LoadLimits(maxFileSize: 64))
        #expect(docs.isEmpty)
        #expect(diagnostics.map(\.id) == ["file-too-large"])
    }

    @Test func invalidUTF8IsReportedAtItsPosition() {
        var files = SourceFiles()
        let bytes: [UInt8] = Array("a: 1\nb: \"x".utf8) + [0xFF, 0xFE] + Array("\"\n".utf8)
        let id = files.add(path: "bad.yaml", bytes: bytes)
        var sink = DiagnosticSink(files: files)
        _ = YAMLLoader.load(bytes: bytes, file: id, sink: &sink)
        #expect(sink.diagnostics.map(\.id) == ["invalid-utf8"])
        #expect(sink.diagnostics.first?.line == 2)
        #expect(sink.diagnostics.first?.column == 6)
    }

    @Test func tabIndentationIsNamed() {
        let (_, diagnostics) = load("a:\n\tb: 1\n")
        #expect(diagnostics.map(\.id) == ["tab-indentation"])
        #expect(diagnostics.first?.line == 2)
    }

    @Test func duplicateKeysAreReportedAndTheFirstIsKept() throws {
        let (docs, diagnostics) = load("a: 1\nb: 2\na: 3\n")
        #expect(diagnostics.map(\.id) == ["duplicate-key"])
        #expect(diagnostics.first?.line == 3)
        #expect(diagnostics.first?.message.contains("line 1") == true)
        #expect(docs.first?["a"]?.scalar?.text == "1")
    }

    @Test func duplicateKeysInLargeMappings() {
        let text = (0..<50).map { "k\($0): \($0)\n" }.joined() + "k7: again\n"
        let (_, diagnostics) = load(text)
        #expect(diagnostics.map(\.line) == [51])
    }

    @Test func multipleDocuments() {
        let (docs, diagnostics) = load("a: 1\n---\nb: 2\n---\n")
        #expect(diagnostics.isEmpty)
        #expect(docs.count == 3)
        #expect(docs[1]["b"]?.scalar?.text == "2")
        #expect(docs[2].isNull)
    }

    @Test func syntaxErrorKeepsEarlierDocumentsAndHasAPosition() {
        let (docs, diagnostics) = load("a: 1\n---\nb: [1, 2\n")
        #expect(docs.count == 1)
        #expect(diagnostics.first?.id == "yaml-syntax")
        #expect(diagnostics.first?.line != nil)
    }

    @Test func complexKeysAreRefused() {
        let (_, diagnostics) = load("? [a, b]\n: 1\n")
        #expect(diagnostics.map(\.id) == ["complex-key"])
    }
}

@Suite struct DiagnosticRendererTests {
    @Test func manyDiagnosticsRenderTheirOwnSourceLines() {
        var files = SourceFiles()
        let text = (1...2000).map { "line\($0): value\($0)" }.joined(separator: "\r\n") + "\n"
        let id = files.add(path: "big.yaml", bytes: Array(text.utf8))
        var sink = DiagnosticSink(files: files)
        for line in stride(from: 1, through: 2000, by: 7) {
            let mark = Mark(line: Int32(line), column: 7)
            sink.error("test", "problem \(line)", at: SourceRange(file: id, start: mark, end: Mark(line: Int32(line), column: 10)), path: KeyPath("line\(line)"))
        }
        let renderer = DiagnosticRenderer(files: files, color: false)
        let all = renderer.render(sink.diagnostics)
        // Rendering the list at once equals rendering each alone (the line index is only a cache).
        #expect(all == sink.diagnostics.map { renderer.render($0) }.joined())
        let last = renderer.render(sink.diagnostics.last!)
        #expect(last.contains(" 1996 | line1996: value1996\n"))
        #expect(last.contains("      |       ^~~\n"))
        #expect(!all.contains("\r"))
    }
}
