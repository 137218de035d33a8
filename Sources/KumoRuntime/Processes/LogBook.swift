import Foundation

/// Per-resource log files under `.kumo/logs/` (`function.NAME.log`, `service.NAME.log`), one
/// line per output line, tagged with the time and the request id or replica:
///
///     2026-11-27T13:40:00.123Z [6f1c…] hello from the handler
///
/// `kumo logs` reads and follows these files, so logs survive the runtime.
///
/// Lines are written in batches, at most `delay` after they are logged (and at `close`), by a
/// serial queue of their own: a warm invocation logs three lines, and writing each at once would
/// put two file writes on the invoke loop for every call.
public final class LogBook: @unchecked Sendable {
    public let directory: String
    public static let delay = DispatchTimeInterval.milliseconds(5)
    private let lock = NSLock()
    /// Open log files; used only on `writer`.
    private var handles: [String: FileHandle] = [:]
    private var pending: [String: [UInt8]] = [:]
    private var flushScheduled = false
    private let writer = DispatchQueue(label: "kumo.logbook")
    /// Also called with every line (`kumo up` prints them).
    private let echo: (@Sendable (String, String) -> Void)?

    public init(directory: String, echo: (@Sendable (String, String) -> Void)? = nil) {
        self.directory = directory
        self.echo = echo
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    public static func file(for address: String, in directory: String) -> String {
        directory + "/" + address + ".log"
    }

    public func write(_ address: String, tag: String, _ line: String) {
        write(address, tag: tag, [line])
    }

    /// Several lines with one time stamp, together.
    public func write(_ address: String, tag: String, _ lines: [String]) {
        let prefix = "\(WallClock.iso8601()) [\(tag)] "
        var text = ""
        for line in lines { text += prefix + line + "\n" }
        lock.lock()
        pending[address, default: []].append(contentsOf: text.utf8)
        let schedule = !flushScheduled
        flushScheduled = true
        lock.unlock()
        if schedule { writer.asyncAfter(deadline: .now() + LogBook.delay) { self.flush() } }
        if let echo { for line in lines { echo(address, prefix + line + "\n") } }
    }

    /// Writes what is pending (on the writer queue; `close` waits for it).
    private func flush() {
        lock.lock()
        let batch = pending
        pending = [:]
        flushScheduled = false
        lock.unlock()
        // The handles belong to the writer queue: loggers wait for the lock, never for the disk.
        for (address, bytes) in batch {
            let handle: FileHandle? = handles[address] ?? {
                let path = LogBook.file(for: address, in: directory)
                if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) }
                let opened = FileHandle(forWritingAtPath: path)
                _ = try? opened?.seekToEnd()
                handles[address] = opened
                return opened
            }()
            try? handle?.write(contentsOf: bytes)
        }
    }

    public func close() {
        writer.sync {
            flush()
            for handle in handles.values { try? handle.close() }
            handles = [:]
        }
    }
}
