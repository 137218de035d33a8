import Foundation
import KumoPlan

/// The pid table: every process group the runtime started, written to
/// `.kumo/runtime/pids.json` as it changes. A runtime that was killed with -9 leaves its
/// children running in their own groups; the next runtime reads the table at start and stops
/// every group whose leader is still the same process (pid and start time both match).
final class Registry: @unchecked Sendable {
    static let shared = Registry()

    struct Entry: Equatable, Codable {
        var pid: pid_t
        var startTicks: UInt64
        var owner: String
        var command: String

        enum CodingKeys: String, CodingKey {
            case pid, owner, command
            case startTicks = "start_ticks"
        }
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
        let temporary = target + ".tmp"
        if FileManager.default.createFile(atPath: temporary, contents: Data(ControlAPI.encode(snapshot)), attributes: [.posixPermissions: 0o600]) {
            rename(temporary, target)
        }
    }

    /// Stops the process groups a previous runtime left behind; returns what it stopped.
    static func reapOrphans(path: String) -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path), let entries = try? JSONDecoder().decode([Entry].self, from: data) else { return [] }
        var stopped: [Entry] = []
        for entry in entries {
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
