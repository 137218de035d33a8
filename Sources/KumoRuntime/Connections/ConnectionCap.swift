import Foundation
import NIOCore

/// How many client connections one listener keeps open at once, and what it does past that:
/// a new connection is closed as soon as it is accepted, and the log says so in one line — not
/// one per refused connection, but at most one every ``logInterval``, with how many were refused.
///
/// The gateway and each service's front port have one each. The workers' Runtime API ports do
/// not: each is a listener of its own that only its worker uses, so clients that fill the
/// gateway cannot starve a worker's `next`.
struct ConnectionCap: Sendable {
    static let standard = 1024
    static let logInterval = TimeAmount.seconds(60)

    /// Raises this process's soft limit on open descriptors towards its hard limit (at most
    /// 65,536), so that the caps, not the descriptors, are what runs out first: at the usual
    /// soft limit of 1,024 one full listener would leave nothing for the others, the workers'
    /// pipes and the state. Returns the soft limit in force afterwards.
    @discardableResult
    static func raiseDescriptorLimit(wanted: rlim_t = 65_536) -> rlim_t {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        let target = min(wanted, limit.rlim_max)
        if limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return target }
        }
        return limit.rlim_cur
    }

    /// What the log calls the listener: `gateway`, `front port of service web`.
    var listener: String
    var maximum: Int = ConnectionCap.standard
    /// Where the cap's line goes (the runtime's or the service's log).
    var log: @Sendable (String) -> Void

    /// The listener's count of open connections and of refusals not yet logged: a value that
    /// returns what to do, for the handler to do it. `now` comes from the caller, so tests can
    /// move time.
    struct Tally: Sendable, Equatable {
        enum Decision: Equatable {
            case admit
            /// Close it; and when `log` is set, say so.
            case refuse(log: Line?)
        }

        /// What the cap's line reports: connections refused since the last line (this one
        /// included), and whether it is the first line.
        struct Line: Equatable {
            var refused: Int
            var first: Bool
        }

        let maximum: Int
        private(set) var open = 0
        private(set) var unlogged = 0
        private var lastLog: NIODeadline?

        init(maximum: Int) { self.maximum = maximum }

        mutating func arrived(now: NIODeadline) -> Decision {
            guard open >= maximum else {
                open += 1
                return .admit
            }
            unlogged += 1
            if let lastLog, now - lastLog < ConnectionCap.logInterval { return .refuse(log: nil) }
            let line = Line(refused: unlogged, first: lastLog == nil)
            lastLog = now
            unlogged = 0
            return .refuse(log: line)
        }

        mutating func left() {
            open -= 1
        }
    }

    /// The line the log gets when the listener on `port` refuses connections.
    func message(port: Int?, _ line: Tally.Line) -> String {
        let address = port.map { "127.0.0.1:\($0)" } ?? "127.0.0.1"
        let count = line.first ? "" : "\(line.refused) refused since the last such line; "
        return "\(listener) \(address) is at its cap of \(maximum) open connections: new connections are closed at once"
            + " (\(count)logged at most once a minute)"
    }
}
