import Foundation

/// Per-resource log files under `.kumo/logs/` (`function.NAME.log`, `service.NAME.log`), one
/// line per output line, tagged with the time and the request id or replica:
///
///     2026-11-27T13:40:00.123Z [6f1c…] hello from the handler
///
/// `kumo logs` reads and follows these files, so logs survive the runtime.
public final class LogBook: @unchecked Sendable {
    public let directory: String
    private let lock = NSLock()
    private var handles: [String: FileHandle] = [:]
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
        let text = "\(WallClock.iso8601()) [\(tag)] \(line)\n"
        lock.lock()
        let handle: FileHandle? = handles[address] ?? {
            let path = LogBook.file(for: address, in: directory)
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) }
            let opened = FileHandle(forWritingAtPath: path)
            _ = try? opened?.seekToEnd()
            handles[address] = opened
            return opened
        }()
        try? handle?.write(contentsOf: Data(text.utf8))
        lock.unlock()
        echo?(address, text)
    }

    public func close() {
        lock.lock()
        for handle in handles.values { try? handle.close() }
        handles = [:]
        lock.unlock()
    }
}
