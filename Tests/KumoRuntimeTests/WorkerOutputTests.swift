import Foundation
@testable import KumoRuntime
import KumoTestSupport
import Testing

/// How a marked worker's output is tagged and where END goes (the end-to-end test is
/// FunctionRuntimeTests.outputIsTaggedWithTheRequestUntilItsEndAndWithTheWorkerAfter).
struct WorkerOutputTests {
    let directory = try! Support.temporaryDirectory("kumo-worker-output")
    let mark = "kumo-mark-test"

    /// The log as (tag, text) pairs.
    func logged(_ logs: LogBook) throws -> [(tag: String, text: String)] {
        logs.close()
        let text = try String(contentsOfFile: LogBook.file(for: "function.f", in: directory), encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let open = line.firstIndex(of: "[")!, close = line.firstIndex(of: "]")!
            return (String(line[line.index(after: open)..<close]), String(line[line.index(close, offsetBy: 2)...]))
        }
    }

    @Test func linesBetweenMarksAreTheRequestsAndEndWaitsForBothStreams() throws {
        let logs = LogBook(directory: directory)
        let output = WorkerOutput(address: "function.f", logs: logs, workerID: 3, mark: mark, markedStreams: 2)
        output.line(.stdout, "imported")
        output.line(.stdout, "\(mark) start r1")
        output.line(.stderr, "\(mark) start r1")
        output.line(.stdout, "hello")
        output.line(.stderr, "\(mark) end r1")
        // The result arrives before stdout's end mark: END waits for it.
        #expect(!output.finished("r1", ["END RequestId: r1"]))
        output.line(.stdout, "no newline\(mark) end r1")
        output.line(.stdout, "from a thread")
        output.line(.stderr, "\(mark) start r2")
        output.line(.stdout, "\(mark) start r2")
        output.line(.stderr, "\(mark) end r2")
        output.line(.stdout, "\(mark) end r2")
        // Both marks came first: END goes at once.
        #expect(output.finished("r2", ["END RequestId: r2"]))
        let lines = try logged(logs)
        #expect(lines.map(\.tag) == ["worker-3", "r1", "r1", "r1", "worker-3", "r2"])
        #expect(lines.map(\.text) == ["imported", "hello", "no newline", "END RequestId: r1", "from a thread", "END RequestId: r2"])
    }

    /// One marked stream (python3 makes stderr the same pipe as stdout): END follows its end mark.
    @Test func oneMarkedStreamIsEnough() throws {
        let logs = LogBook(directory: directory)
        let output = WorkerOutput(address: "function.f", logs: logs, workerID: 1, mark: mark, markedStreams: 1)
        output.line(.stdout, "\(mark) start r1")
        output.line(.stdout, "hello")
        #expect(!output.finished("r1", ["END RequestId: r1"]))
        output.line(.stdout, "\(mark) end r1")
        output.line(.stdout, "late")
        let lines = try logged(logs)
        #expect(lines.map(\.tag) == ["r1", "r1", "worker-1"])
        #expect(lines.map(\.text) == ["hello", "END RequestId: r1", "late"])
    }

    @Test func endIsWrittenWithoutMarksAfterPatienceOrOnExit() async throws {
        let logs = LogBook(directory: directory)
        let output = WorkerOutput(address: "function.f", logs: logs, workerID: 1, mark: mark, markedStreams: 2)
        output.line(.stdout, "\(mark) start r1")
        output.line(.stderr, "\(mark) start r1")
        // The handler closed its stdout: only stderr's end mark comes.
        output.line(.stderr, "\(mark) end r1")
        #expect(!output.finished("r1", ["END RequestId: r1"]))
        output.flushWaiting()
        try await Task.sleep(for: WorkerOutput.patience + .milliseconds(50))
        output.line(.stdout, "\(mark) start r2")
        #expect(!output.finished("r2", ["END RequestId: r2"]))
        output.flushWaiting()
        output.flushWaiting()
        output.flushWaiting(all: true)
        let lines = try logged(logs)
        #expect(lines.map(\.text) == ["END RequestId: r1", "END RequestId: r2"])
    }
}
