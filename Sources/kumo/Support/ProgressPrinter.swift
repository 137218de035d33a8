import Foundation
import KumoApply
import KumoPlan

/// Progress per resource: plain lines, plus a live status line on a terminal.
final class ProgressPrinter: @unchecked Sendable {
    let terminal: Bool
    let color: Bool
    private let lock = NSLock()
    private var running = 0
    private var done = 0
    private var wave = ""

    init(terminal: Bool, color: Bool) {
        self.terminal = terminal
        self.color = color
    }

    func show(_ event: Executor.Event) {
        lock.lock()
        defer { lock.unlock() }
        var line: String?
        switch event {
        case .waveStarted(let index, let total, let actions):
            wave = "wave \(index)/\(total)"
            line = "Wave \(index) of \(total): \(actions) action\(actions == 1 ? "" : "s")"
        case .started(let address, let action):
            running += 1
            line = "\(address): \(ProgressPrinter.verb(action, done: false))..."
        case .finished(let address, let action, let seconds):
            running -= 1
            done += 1
            line = "\(address): \(ProgressPrinter.verb(action, done: true)) after \(String(format: "%.2f", seconds)) s"
        case .failed(let address, let action, let error):
            running -= 1
            line = (color ? "\u{1B}[31m" : "") + "\(address): \(ProgressPrinter.verb(action, done: false)) failed: \(error)" + (color ? "\u{1B}[0m" : "")
        }
        if terminal { Console.out("\r\u{1B}[K") }
        if let line { Console.out(line + "\n") }
        if terminal { Console.out("[\(wave)] \(running) running, \(done) done") }
    }

    func finish() {
        lock.lock()
        if terminal { Console.out("\r\u{1B}[K") }
        lock.unlock()
    }

    static func verb(_ action: PlanAction, done: Bool) -> String {
        switch (action, done) {
        case (.create, false): "Creating"
        case (.create, true): "Created"
        case (.update, false): "Updating"
        case (.update, true): "Updated"
        case (.replace, false): "Replacing"
        case (.replace, true): "Replaced"
        case (.delete, false): "Destroying"
        case (.delete, true): "Destroyed"
        case (.noop, _): "Unchanged"
        }
    }
}
