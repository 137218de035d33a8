/// A 1-based position in a source file.
public struct Mark: Sendable, Hashable, Comparable, Codable {
    public var line: Int32
    public var column: Int32

    public init(line: Int32, column: Int32) {
        self.line = line
        self.column = column
    }

    public static func < (lhs: Mark, rhs: Mark) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }
}

/// Identifies a file registered in a ``SourceFiles`` table; nodes carry this instead of a path.
public struct SourceFileID: Sendable, Hashable, Codable {
    public var rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    /// A range that does not come from any file (command-line values, built-in defaults).
    public static let synthetic = SourceFileID(-1)
}

/// The span a node or diagnostic covers: a file and 1-based start and end marks.
public struct SourceRange: Sendable, Hashable, Codable {
    public var file: SourceFileID
    public var start: Mark
    public var end: Mark

    public init(file: SourceFileID, start: Mark, end: Mark) {
        self.file = file
        self.start = start
        self.end = end
    }

    public static let synthetic = SourceRange(
        file: .synthetic, start: Mark(line: 0, column: 0), end: Mark(line: 0, column: 0))
}

/// The files of one project, so that diagnostics can print paths and source lines.
///
/// A value type: the loader appends while loading; afterwards it is read-only and safe to share.
public struct SourceFiles: Sendable {
    public private(set) var paths: [String] = []
    private var contents: [[UInt8]] = []

    public init() {}

    public mutating func add(path: String, bytes: [UInt8]) -> SourceFileID {
        paths.append(path)
        contents.append(bytes)
        return SourceFileID(Int32(paths.count - 1))
    }

    public func path(_ id: SourceFileID) -> String {
        id.rawValue >= 0 && Int(id.rawValue) < paths.count ? paths[Int(id.rawValue)] : "<command line>"
    }

    public func bytes(_ id: SourceFileID) -> [UInt8] {
        id.rawValue >= 0 && Int(id.rawValue) < contents.count ? contents[Int(id.rawValue)] : []
    }

    /// Byte offsets where each line of a file starts (index 0 is line 1).
    public func lineStarts(_ id: SourceFileID) -> [Int] {
        let data = bytes(id)
        var starts = [0]
        for (i, byte) in data.enumerated() where byte == UInt8(ascii: "\n") { starts.append(i + 1) }
        return starts
    }

    /// The text of a 1-based line given the file's ``lineStarts(_:)``; nil when out of range.
    public func line(_ number: Int32, in id: SourceFileID, starts: [Int]) -> String? {
        let index = Int(number) - 1
        guard index >= 0, index < starts.count else { return nil }
        let data = bytes(id)
        let start = starts[index]
        var end = index + 1 < starts.count ? starts[index + 1] - 1 : data.count
        if end > start, data[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(validating: data[start..<max(start, end)], as: UTF8.self)
    }
}

extension SourceFiles {
    /// Converts a byte offset into a 1-based line and column (columns count characters).
    public static func mark(forOffset offset: Int, in bytes: [UInt8]) -> Mark {
        var line: Int32 = 1
        var column: Int32 = 1
        var index = 0
        let limit = min(offset, bytes.count)
        while index < limit {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            index += 1
        }
        return Mark(line: line, column: column)
    }
}
