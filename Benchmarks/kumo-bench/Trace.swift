// `kumo-bench trace`: reading and parsing a load trace alone (see main.swift).

import KumoScaling

/// Reads FILE and parses it with the trace parser `kumo simulate` uses, keeping nothing;
/// returns the sample count, the byte count and the seconds both took.
func parseTrace(_ path: String) -> (samples: Int, bytes: Int, seconds: Double) {
    let start = now()
    let bytes = readFile(path)
    var parser = TraceParser()
    var samples = 0
    var sum = 0.0
    do {
        try parser.parse(bytes) { samples += 1; sum += $0.load }
        try parser.finish { samples += 1; sum += $0.load }
    } catch {
        fail("\(path): \(error)")
    }
    let seconds = now() - start
    // The sum keeps the loads from being optimized away.
    if sum.isNaN { printError("nan") }
    return (samples, bytes.count, seconds)
}
