import Foundation

/// Parses a large single-document file on two cores by cutting its largest block section.
///
/// The cut is made at a line that starts an entry of the largest top-level section (say,
/// `  fn50000:` under `functions:`), so the file becomes three YAML texts: A (start to cut), B
/// (the section's remaining entries, a mapping of its own) and C (what follows the section).
/// A and B+C are parsed at once and joined. The result is used only when every chunk parses
/// cleanly into the expected shape; anything else (an error, an alias to an anchor in another
/// chunk, a merge key where chunks join, several documents, a flow-style section) returns nil
/// and the caller parses the file serially, which also produces the exact diagnostics.
/// A construct that spans the cut (a quoted or flow scalar, a flow collection) cannot close in
/// A, so A fails to parse and the serial path takes over.
enum ParallelLoad {

    struct Plan {
        var cut: Int
        var indent: Int
        var sectionEnd: Int
        var sectionKey: String
        var linesBeforeCut: Int
        var linesBeforeSectionEnd: Int
    }

    static func load(bytes: [UInt8], file: SourceFileID, limits: LoadLimits) -> [Node]? {
        guard bytes.count >= limits.parallelThreshold, ProcessInfo.processInfo.activeProcessorCount > 1, let plan = plan(bytes) else { return nil }
        var outcomes = [Builder?](repeating: nil, count: 3)
        outcomes.withUnsafeMutableBufferPointer { buffer in
            let slots = DisjointSlots(buffer)
            DispatchQueue.concurrentPerform(iterations: 2) { worker in
                if worker == 0 {
                    var a = Builder(file: file, bytes: bytes, limits: limits)
                    a.span = 0..<plan.cut
                    _ = a.run()
                    slots[0] = a
                } else {
                    var b = Builder(file: file, bytes: bytes, limits: limits)
                    b.span = plan.cut..<plan.sectionEnd
                    b.lineOffset = plan.linesBeforeCut
                    b.depthOffset = 1  // B's root is the section's mapping, one level down
                    _ = b.run()
                    slots[1] = b
                    var c = Builder(file: file, bytes: bytes, limits: limits)
                    c.span = plan.sectionEnd..<bytes.count
                    c.lineOffset = plan.linesBeforeSectionEnd
                    _ = c.run()
                    slots[2] = c
                }
            }
        }
        guard let a = outcomes[0], let b = outcomes[1], let c = outcomes[2] else { return nil }
        guard a.problems.isEmpty, b.problems.isEmpty, c.problems.isEmpty,
            !a.shallowMerge, !b.shallowMerge, !c.shallowMerge,
            a.roots.count == 1, b.roots.count == 1, c.roots.count <= 1,
            case .mapping(let rootPairs) = a.roots[0].kind,
            let last = rootPairs.last, last.key.scalar?.equals(plan.sectionKey) == true,
            case .mapping(let sectionPairs) = last.value.kind,
            case .mapping(let moreEntries) = b.roots[0].kind
        else { return nil }
        var tail: NodeRef.Pairs?
        if let rest = c.roots.first, !rest.isNull {
            guard case .mapping(let pairs) = rest.kind else { return nil }
            tail = pairs
        }
        // In A the entries before the cut end where A's text ends (column 1 of the cut line); in
        // one text they end where the next entry's key starts. Give them the serial position.
        let cutLine = Int32(plan.linesBeforeCut + 1)
        if let lastEntry = sectionPairs.last {
            movingEnd(of: lastEntry.value, from: Mark(line: cutLine, column: 1), to: Mark(line: cutLine, column: Int32(plan.indent + 1)))
        }
        // Join in A's tree: the section gains B's entries, the root gains C's keys. Each side's
        // entries are unique (its builder checked them); a key on both sides of the cut leaves
        // the file to the serial parse, which reports it. (The views of A's children are
        // copied before A's tree grows.)
        var sectionKeys: [KeyBytes: Int]
        if let indexed = a.indexedKeys, indexed.mapping == last.value.index {
            sectionKeys = indexed.keys
        } else {
            sectionKeys = [:]
            for (i, pair) in sectionPairs.enumerated() { sectionKeys[KeyBytes(pair.key.scalar!.bytes)] = i }
        }
        if moreEntries.contains(where: { sectionKeys[KeyBytes($0.key.scalar!.bytes)] != nil }) { return nil }
        var section: [NodeRef] = []
        section.reserveCapacity(2 * (sectionPairs.count + moreEntries.count))
        for pair in sectionPairs { section.append(pair) }
        for pair in moreEntries { section.append(pair) }
        var root: [NodeRef] = []
        for pair in rootPairs.dropLast() { root.append(pair) }
        let sectionStart = last.value.range.start
        let tree = a.tree
        tree.retain(b.tree)
        tree.retain(c.tree)
        let joined = tree.appendMapping(section, range: SourceRange(file: file, start: sectionStart, end: b.roots[0].range.end))
        root.append(NodeRef.Pair(key: last.key, value: joined))
        if let tail { for pair in tail { root.append(pair) } }
        var duplicates: [Problem] = []
        Builder.removeDuplicates(&root, from: 0, problems: &duplicates)
        guard duplicates.isEmpty else { return nil }
        let end = c.roots.first.map { $0.isNull ? joined.range.end : $0.range.end } ?? joined.range.end
        let document = tree.appendMapping(root, range: SourceRange(file: file, start: a.roots[0].range.start, end: end))
        return [Node(document, owner: tree)]
    }

    /// Moves the end of `node`, and of every descendant that ends with it, from one mark to
    /// another, in place (A's tree is not shared yet, and no alias can share a node that ends
    /// at the cut: it would have to follow it). Not only the last child moves: merge keys
    /// append their pairs after the written ones. Only collections move: they end where the
    /// next token starts, while a block scalar ends at the start of the line after its content
    /// in both parses.
    static func movingEnd(of node: NodeRef, from old: Mark, to new: Mark) {
        guard node.range.end == old, node.scalar == nil else { return }
        node.update { $0.endMark = new }
        switch node.kind {
        case .mapping(let pairs):
            for pair in pairs { movingEnd(of: pair.value, from: old, to: new) }
        case .sequence(let items):
            for item in items { movingEnd(of: item, from: old, to: new) }
        case .scalar:
            break
        }
    }

    /// `bytes[start...].firstIndex(of: byte)` with memchr: the plan scans the whole file on one core.
    static func firstIndex(of byte: UInt8, in bytes: [UInt8], from start: Int) -> Int? {
        bytes.withUnsafeBufferPointer { buffer in
            guard start < buffer.count, let base = buffer.baseAddress,
                let found = memchr(base + start, Int32(byte), buffer.count - start)
            else { return nil }
            return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
        }
    }

    /// Finds the cut: the largest top-level block section, and an entry line near the middle.
    static func plan(_ bytes: [UInt8]) -> Plan? {
        let newline = UInt8(ascii: "\n")
        // Line arithmetic below counts "\n" only, and libyaml ends an unterminated last line
        // with a virtual break: keep to files whose every line ends with "\n" alone.
        guard bytes.last == newline, firstIndex(of: UInt8(ascii: "\r"), in: bytes, from: 0) == nil else { return nil }
        // Top-level lines: (offset, line number); a file with directives or several documents
        // is left to the serial parser.
        var sections: [(key: String, start: Int, line: Int)] = []
        var lineStart = 0
        var line = 0
        var lineStarts: [Int] = []
        lineStarts.reserveCapacity(bytes.count / 16)
        while lineStart < bytes.count {
            lineStarts.append(lineStart)
            let first = bytes[lineStart]
            if first == UInt8(ascii: "%") { return nil }
            if first == UInt8(ascii: "-") || first == UInt8(ascii: "."), lineStart + 2 < bytes.count,
                bytes[lineStart + 1] == first, bytes[lineStart + 2] == first
            {
                return nil
            }
            if ASCII.isLetter(first) || first == UInt8(ascii: "_") {
                var end = lineStart
                while end < bytes.count, bytes[end] != UInt8(ascii: ":"), bytes[end] != newline { end += 1 }
                let key = String(decoding: bytes[lineStart..<end], as: UTF8.self)
                sections.append((key, lineStart, line))
            } else if first != UInt8(ascii: " ") && first != UInt8(ascii: "#") && first != newline && first != UInt8(ascii: "\r") {
                return nil
            }
            guard let next = firstIndex(of: newline, in: bytes, from: lineStart) else { break }
            lineStart = next + 1
            line += 1
        }
        guard !sections.isEmpty else { return nil }
        // The largest section, as a byte span.
        var best = 0
        var bestSize = 0
        for i in sections.indices {
            let end = i + 1 < sections.count ? sections[i + 1].start : bytes.count
            if end - sections[i].start > bestSize { bestSize = end - sections[i].start; best = i }
        }
        let section = sections[best]
        let sectionEnd = best + 1 < sections.count ? sections[best + 1].start : bytes.count
        let sectionEndLine = best + 1 < sections.count ? sections[best + 1].line : lineStarts.count
        guard bestSize > bytes.count / 3 else { return nil }
        // The header must be `key:` alone (a block value), and entries sit at one indentation.
        let headerEnd = bytes[section.start...].firstIndex(of: newline) ?? bytes.count
        let header = String(decoding: bytes[section.start..<headerEnd], as: UTF8.self)
        guard header.trimmingSpaces == section.key + ":" else { return nil }
        func indentation(_ start: Int) -> Int? {
            var i = start
            while i < bytes.count, bytes[i] == UInt8(ascii: " ") { i += 1 }
            guard i < bytes.count, i > start else { return nil }
            let c = bytes[i]
            if c == newline || c == UInt8(ascii: "#") || c == UInt8(ascii: "\r") { return nil }
            return i - start
        }
        var entryIndent: Int?
        for l in (section.line + 1)..<sectionEndLine {
            if let n = indentation(lineStarts[l]) { entryIndent = n; break }
        }
        guard let indent = entryIndent else { return nil }
        // Balance the two workers: A is everything before the cut; B and C the rest.
        let target = bytes.count / 2
        guard let middleLine = lineStarts.firstIndex(where: { $0 >= target }),
            middleLine > section.line + 1, middleLine < sectionEndLine
        else { return nil }
        for l in middleLine..<sectionEndLine {
            let start = lineStarts[l]
            guard indentation(start) == indent else { continue }
            let c = bytes[start + indent]
            guard ASCII.isLetter(c) || ASCII.isDigit(c) || c == UInt8(ascii: "_") else { continue }
            return Plan(cut: start, indent: indent, sectionEnd: sectionEnd, sectionKey: section.key, linesBeforeCut: l, linesBeforeSectionEnd: sectionEndLine)
        }
        return nil
    }
}
