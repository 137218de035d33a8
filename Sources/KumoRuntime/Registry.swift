import Foundation
import KumoManifest

/// The pid table: every process group the runtime started, written to
/// `.kumo/runtime/pids.json` as it changes. A runtime that was killed with -9 leaves its
/// children running in their own groups; the next runtime reads the table at start and stops
/// every group whose leader is still the same process (pid and start time both match).
final class Registry: @unchecked Sendable {
    static let shared = Registry()

    struct Entry: Equatable {
        var pid: pid_t
        var startTicks: UInt64
        var owner: String
        var command: String
    }

    private let lock = NSLock()
    private var entries: [pid_t: Entry] = [:]
    private var path: String?

    func configure(path: String) {
        lock.lock()
        self.path = path
        lock.unlock()
        persist()
    }

    func add(_ process: ChildProcess, owner: String) {
        lock.lock()
        entries[process.pid] = Entry(pid: process.pid, startTicks: process.startTicks, owner: owner, command: process.argv.first ?? "")
        lock.unlock()
        persist()
    }

    func remove(_ process: ChildProcess) {
        lock.lock()
        entries[process.pid] = nil
        lock.unlock()
        persist()
    }

    var pids: [pid_t] {
        lock.lock()
        defer { lock.unlock() }
        return Array(entries.keys)
    }

    private func persist() {
        lock.lock()
        let snapshot = entries.values.sorted { $0.pid < $1.pid }
        let target = path
        lock.unlock()
        guard let target else { return }
        let value = ConfigValue.array(snapshot.map { entry in
            .object([("pid", .int(Int(entry.pid))), ("start_ticks", .int(Int(entry.startTicks))), ("owner", .string(entry.owner)), ("command", .string(entry.command))])
        })
        let temporary = target + ".tmp"
        if FileManager.default.createFile(atPath: temporary, contents: Data(value.compactJSON().utf8), attributes: [.posixPermissions: 0o600]) {
            rename(temporary, target)
        }
    }

    /// Stops the process groups a previous runtime left behind; returns what it stopped.
    static func reapOrphans(path: String) -> [Entry] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let value = try? ConfigValue(json: text), let items = value.arrayValue else { return [] }
        var stopped: [Entry] = []
        for item in items {
            guard let pid = item["pid"]?.intValue, let ticks = item["start_ticks"]?.intValue else { continue }
            let entry = Entry(pid: pid_t(pid), startTicks: UInt64(ticks), owner: item["owner"]?.stringValue ?? "", command: item["command"]?.stringValue ?? "")
            // Only the same process: a reused pid has another start time.
            guard ChildProcess.startTicks(of: entry.pid) == entry.startTicks else { continue }
            kill(-entry.pid, SIGKILL)
            kill(entry.pid, SIGKILL)
            stopped.append(entry)
        }
        unlink(path)
        return stopped
    }
}
