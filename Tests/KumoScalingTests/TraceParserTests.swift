import KumoScaling
import Testing

@Suite struct TraceParserTests {
    /// Parses `text` fed in pieces of `chunk` bytes.
    func parse(_ text: String, chunk: Int = 1 << 20) throws -> [TraceSample] {
        try parse(Array(text.utf8), chunk: chunk)
    }

    func parse(_ bytes: [UInt8], chunk: Int = 1 << 20) throws -> [TraceSample] {
        var parser = TraceParser()
        var samples: [TraceSample] = []
        var start = 0
        while start < bytes.count {
            let piece = Array(bytes[start..<min(bytes.count, start + chunk)])
            try parser.parse(piece) { samples.append($0) }
            start += chunk
        }
        try parser.finish { samples.append($0) }
        return samples
    }

    func error(_ text: String) -> TraceError? {
        do { _ = try parse(text); return nil } catch { return error as? TraceError }
    }

    @Test func readsSecondsAndLoads() throws {
        let samples = try parse("time,load\n0,10\n15,12.5\n30.25,1e3\n")
        #expect(samples == [TraceSample(time: 0, load: 10), TraceSample(time: 15_000, load: 12.5), TraceSample(time: 30_250, load: 1000)])
    }

    @Test func acceptsWhatSpreadsheetsWrite() throws {
        // A byte order mark, CRLF, spaces, a capitalised header, blank lines, no final newline.
        let samples = try parse("\u{FEFF}Time, Load\r\n0 , 1\r\n\r\n  5,2  \r\n10,3")
        #expect(samples.map(\.time) == [0, 5000, 10_000])
        #expect(samples.map(\.load) == [1, 2, 3])
    }

    @Test func theSameWhateverTheChunks() throws {
        let text = "time,load\n" + (0..<500).map { "\($0 * 3).5,\(Double($0) * 0.25)\n" }.joined()
        let whole = try parse(text)
        #expect(whole.count == 500)
        for size in [1, 2, 7, 64] { #expect(try parse(text, chunk: size) == whole) }
        #expect(whole[3] == TraceSample(time: 9500, load: 0.75))
    }

    @Test func isoTimesAreRelativeToTheFirst() throws {
        let samples = try parse("time,load\n2026-03-01T10:00:00Z,1\n2026-03-01T10:00:15.5Z,2\n2026-03-01T11:00:30+01:00,3\n")
        #expect(samples.map(\.time) == [0, 15_500, 30_000])
    }

    @Test func numbersAsDoubleReadsThem() throws {
        for text in ["0.1", "123456.789", "1e-7", "12345678901234567890", "0.30000000000000004", "5E2", "+4", "007"] {
            let sample = try parse("time,load\n0,\(text)\n")
            #expect(sample.first?.load == Double(text), "\(text)")
        }
        #expect(try parse("time,load\n1.2344,0\n1.2345,0\n").map(\.time) == [1234, 1235])
    }

    @Test func repeatedTimesKeepTheirOrder() throws {
        #expect(try parse("time,load\n0,1\n0,2\n").map(\.load) == [1, 2])
    }

    @Test func errorsNameTheLine() {
        #expect(error("") == TraceError(line: 1, message: "the trace is empty: expected the header 'time,load'"))
        #expect(error("t,l\n0,1\n") == TraceError(line: 1, message: "expected the header 'time,load', got 't,l'"))
        #expect(error("time,load\n") == TraceError(line: 0, message: "the trace has no samples after its header"))
        #expect(error("time,load\n0,1\n15\n") == TraceError(line: 3, message: "expected TIME,LOAD, got '15'"))
        #expect(error("time,load\n0,1,2\n") == TraceError(line: 2, message: "expected two fields, TIME,LOAD, got '0,1,2'"))
        #expect(error("time,load\n0,1\n\n15,abc\n") == TraceError(line: 4, message: "load 'abc' is not a number"))
        #expect(error("time,load\n0,-1\n") == TraceError(line: 2, message: "load '-1' is negative"))
        #expect(error("time,load\n0,1e999\n") == TraceError(line: 2, message: "load '1e999' is too large"))
        #expect(error("time,load\n0,nan\n")?.message == "load 'nan' is not a number")
        #expect(error("time,load\n15,1\n10,1\n") == TraceError(line: 3, message: "time '10' is before the previous line's; the trace must be in time order"))
        #expect(error("time,load\nsoon,1\n") == TraceError(line: 2, message: "time 'soon' is not seconds (such as 15 or 2.5) or an ISO-8601 time"))
        #expect(error("time,load\n-5,1\n")?.line == 2)
        #expect(error("time,load\n0,1\n2026-03-01T10:00:00Z,1\n")?.message == "time '2026-03-01T10:00:00Z' is an ISO-8601 time, but the first line's is seconds")
        #expect(error("time,load\n2026-03-01T10:00:00Z,1\n15,1\n")?.message == "time '15' is seconds, but the first line's is an ISO-8601 time")
        #expect(error("time,load\n2026-02-30T10:00:00Z,1\n")?.message == "time '2026-02-30T10:00:00Z' is not an ISO-8601 time such as 2026-03-01T10:00:00Z")
        #expect(error("time,load\n99999999999999,1\n")?.line == 2)
    }

    @Test func invalidUTF8AndBinaryAreErrorsNotCrashes() {
        let bytes: [UInt8] = Array("time,load\n0,".utf8) + [0xFF, 0xFE, 0x00, 0xC3] + Array("\n".utf8)
        #expect(throws: TraceError(line: 2, message: "load '\u{FFFD}\u{FFFD}?\u{FFFD}' is not a number")) { try parse(bytes) }
        let binary = [UInt8](repeating: 0xAB, count: 100_000)
        #expect(throws: TraceError(line: 1, message: "longer than 4096 bytes (is this a CSV trace?)")) { try parse(binary, chunk: 1000) }
        #expect(throws: TraceError.self) { try parse(binary) }
        let long = "time,load\n0," + String(repeating: "1", count: 5000) + "\n"
        #expect(error(long) == TraceError(line: 2, message: "longer than 4096 bytes (is this a CSV trace?)"))
    }
}
