import Foundation

/// The output of one worker whose bootstrap marks its invocations (Kumo's python3 and node
/// bootstraps, given `_KUMO_LOG_MARK`): it writes `TOKEN start ID` when it receives an
/// invocation and `TOKEN end ID` once it posted the result, after everything the handler
/// printed, on each of its marked streams (python3 makes stderr the same pipe as stdout and
/// marks that one; node marks both).
///
/// Every line is tagged from the marks of its own stream, on the stream's reader thread: with
/// the request between them, with the worker outside them (import time, a thread or timer that
/// prints after the handler returned, anything between invocations). The pipes are read on
/// their own threads, so a line printed before the handler returned may reach the runtime after
/// the result did; its tag does not depend on that. Nor does its place: the request's END and
/// REPORT lines are written once the result arrived and every marked stream passed its end mark,
/// so they follow everything the handler printed.
///
/// A worker without marks (a `provided` runtime) keeps the pool's tagging by its current call.
final class WorkerOutput: @unchecked Sendable {
    let address: String
    let logs: LogBook
    /// The tag of lines outside an invocation: `worker-N`.
    let workerTag: String
    /// `TOKEN ` (random per worker), the start of a mark line.
    let mark: String
    /// How many streams carry the marks.
    let markedStreams: Int
    /// How long END and REPORT wait for the end marks after the result arrived (a handler that
    /// closed its stdout never delivers one).
    static let patience = Duration.seconds(1)

    private let lock = NSLock()
    /// Per stream, the request whose start mark it passed and whose end mark it has not.
    private var open: [ChildProcess.Stream: String] = [:]
    /// End marks seen per request, until its END is written (the few latest requests).
    private var ended: [(request: String, marks: Int)] = []
    /// END and REPORT of requests whose result arrived before their end marks.
    private var waiting: [(request: String, lines: [String], since: ContinuousClock.Instant)] = []

    init(address: String, logs: LogBook, workerID: Int, mark: String, markedStreams: Int) {
        self.address = address
        self.logs = logs
        self.workerTag = "worker-\(workerID)"
        self.mark = mark + " "
        self.markedStreams = markedStreams
    }

    /// A fresh mark token for a worker's environment.
    static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        return "kumo-mark-" + (0..<2).map { _ in String(generator.next() as UInt64, radix: 16) }.joined(separator: "-")
    }

    /// One line of the worker's output, on the reader thread of its stream. A mark ends the line
    /// it is on: output printed without a final newline comes before it on the same line.
    func line(_ stream: ChildProcess.Stream, _ text: String) {
        guard let found = text.range(of: mark) else {
            lock.lock()
            let tag = open[stream] ?? workerTag
            lock.unlock()
            logs.write(address, tag: tag, text)
            return
        }
        if found.lowerBound > text.startIndex { line(stream, String(text[..<found.lowerBound])) }
        let rest = text[found.upperBound...]
        if rest.hasPrefix("start ") {
            lock.lock()
            open[stream] = String(rest.dropFirst(6))
            lock.unlock()
        } else if rest.hasPrefix("end ") {
            let request = String(rest.dropFirst(4))
            var ready: [String]?
            lock.lock()
            if open[stream] == request { open[stream] = nil }
            let marks = (ended.first { $0.request == request }?.marks ?? 0) + 1
            ended.removeAll { $0.request == request }
            if marks >= markedStreams, let index = waiting.firstIndex(where: { $0.request == request }) {
                ready = waiting.remove(at: index).lines
            } else {
                ended.append((request, marks))
                if ended.count > 8 { ended.removeFirst() }
            }
            lock.unlock()
            if let ready { logs.write(address, tag: request, ready) }
        }
    }

    /// The request's result arrived (on the pool's loop): writes its END and REPORT `lines` now
    /// if every marked stream passed its end mark, else when they do. False when they wait.
    @discardableResult
    func finished(_ request: String, _ lines: [String]) -> Bool {
        lock.lock()
        let marks = ended.first { $0.request == request }?.marks ?? 0
        let ready = marks >= markedStreams
        if ready {
            ended.removeAll { $0.request == request }
        } else {
            waiting.append((request, lines, .now))
        }
        lock.unlock()
        if ready { logs.write(address, tag: request, lines) }
        return ready
    }

    /// Writes the END and REPORT lines that waited longer than `patience` for their marks (the
    /// pool's maintenance calls it), or all of them (the worker exited: no more output comes).
    func flushWaiting(all: Bool = false) {
        let deadline = ContinuousClock.now - WorkerOutput.patience
        lock.lock()
        let due = waiting.filter { all || $0.since <= deadline }
        if !due.isEmpty {
            waiting.removeAll { all || $0.since <= deadline }
            ended.removeAll { entry in due.contains { $0.request == entry.request } }
        }
        lock.unlock()
        for entry in due { logs.write(address, tag: entry.request, entry.lines) }
    }
}
