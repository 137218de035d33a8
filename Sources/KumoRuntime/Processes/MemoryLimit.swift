/// A process's memory limit, checked against its resident size: the one watchdog that warm
/// workers (every 200 ms), exec calls (every 5 ms) and service replicas (every 100 ms) share.
struct MemoryLimit: Sendable, Equatable {
    let megabytes: Int

    /// What a check saw: the resident size, and whether it is over the limit.
    struct Reading {
        var residentBytes: Int
        var exceeded: Bool
        var usedMegabytes: Int { residentBytes / 1_048_576 }
    }

    func check(_ process: ChildProcess) -> Reading {
        let rss = process.residentBytes()
        return Reading(residentBytes: rss, exceeded: rss > megabytes * 1_048_576)
    }

    /// `memory limit of 128 MB exceeded`, with what was used when known.
    func message(_ reading: Reading? = nil) -> String {
        "memory limit of \(megabytes) MB exceeded" + (reading.map { " (\($0.usedMegabytes) MB used)" } ?? "")
    }
}
