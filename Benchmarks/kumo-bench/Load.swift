// `kumo-bench load` and `kumo-bench first`: an HTTP/1.1 load generator on AsyncHTTPClient, used
// by Benchmarks/runtime.sh for every HTTP figure, Kumo's gateway and the reference server alike.

import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct LoadOptions {
    var urls: [String] = []
    var method = "POST"
    var body = "{}"
    var headers: [(String, String)] = [("Content-Type", "application/json")]
    var concurrency = 1
    var duration: Double?
    var requests: Int?
    var warmup = 0.0  // seconds at full concurrency, not counted
    var warmupRequests = 0  // requests per loop before the measured phase, not counted
    var expect: String?
    var threads = 1
    var timeout = 30.0

    static let usage = """
        usage: kumo-bench load URL [--concurrency N] (--duration S | --requests N) [--warmup S] [--warmup-requests N]
                               [--body JSON] [--method M] [--header NAME:VALUE]... [--expect BODY] [--threads T]
               kumo-bench first URL... [--warm URL] [--body JSON] [--expect BODY]
        """

    static func parse(_ arguments: ArraySlice<String>) -> LoadOptions {
        var options = LoadOptions()
        var rest = arguments
        func value(_ flag: String) -> String {
            guard let v = rest.popFirst() else { fail("\(flag) needs a value\n\(usage)") }
            return v
        }
        func number(_ flag: String) -> Double {
            let text = value(flag)
            guard let v = Double(text), v >= 0 else { fail("\(flag): not a number: \(text)") }
            return v
        }
        var warm: [String] = []
        while let argument = rest.popFirst() {
            switch argument {
            case "--concurrency", "-c": options.concurrency = max(1, Int(number(argument)))
            case "--duration", "-d": options.duration = number(argument)
            case "--requests", "-n": options.requests = Int(number(argument))
            case "--warmup": options.warmup = number(argument)
            case "--warmup-requests": options.warmupRequests = Int(number(argument))
            case "--body": options.body = value(argument)
            case "--method": options.method = value(argument)
            case "--expect": options.expect = value(argument)
            case "--threads": options.threads = max(1, Int(number(argument)))
            case "--timeout": options.timeout = number(argument)
            case "--warm": warm.append(value(argument))
            case "--header", "-H":
                let text = value(argument)
                guard let colon = text.firstIndex(of: ":") else { fail("--header wants NAME:VALUE, got \(text)") }
                options.headers.append((String(text[..<colon]), String(text[text.index(after: colon)...]).trimmingLeadingSpaces))
            default:
                if argument.hasPrefix("-") { fail("unknown option \(argument)\n\(usage)") }
                options.urls.append(argument)
            }
        }
        if !warm.isEmpty { options.warmURLs = warm }
        if options.urls.isEmpty { fail("no URL\n\(usage)") }
        return options
    }

    var warmURLs: [String] = []
}

extension String {
    var trimmingLeadingSpaces: String { String(drop { $0 == " " }) }
}

/// What one request loop saw.
struct LoopResult: Sendable {
    var latencies: [Double] = []  // seconds, successful requests only
    var errors = 0
    var statuses: [UInt: Int] = [:]
    var firstError: String?
}

/// One client, one connection per concurrent loop (keep-alive), HTTP/1.1 only, no decompression.
func makeClient(_ options: LoadOptions, group: MultiThreadedEventLoopGroup) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.httpVersion = .http1Only
    configuration.decompression = .disabled
    configuration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, options.concurrency))
    return HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
}

func makeRequest(_ url: String, _ options: LoadOptions) -> HTTPClientRequest {
    var request = HTTPClientRequest(url: url)
    request.method = HTTPMethod(rawValue: options.method)
    for (name, value) in options.headers { request.headers.add(name: name, value: value) }
    if options.method != "GET" && options.method != "HEAD" {
        request.body = .bytes(ByteBuffer(string: options.body))
    }
    return request
}

/// One request; nil latency on failure (with the reason).
func once(_ client: HTTPClient, _ request: HTTPClientRequest, expect: String?, timeout: Double) async -> (Double?, UInt, String?) {
    let start = now()
    do {
        let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        let body = try await response.body.collect(upTo: 64 << 20)
        let elapsed = now() - start
        let status = response.status.code
        if status != 200 { return (nil, status, "status \(status): \(String(buffer: body).prefix(200))") }
        if response.headers.contains(name: "X-Amz-Function-Error") { return (nil, status, "function error: \(String(buffer: body).prefix(200))") }
        if let expect, String(buffer: body) != expect { return (nil, status, "unexpected body: \(String(buffer: body).prefix(200))") }
        return (elapsed, status, nil)
    } catch {
        return (nil, 0, "\(error)")
    }
}

/// Sends requests one after another until `deadline` (monotonic seconds) or `count` are done.
func loop(_ client: HTTPClient, _ request: HTTPClientRequest, options: LoadOptions, deadline: Double?, count: Int?) async -> LoopResult {
    var result = LoopResult()
    result.latencies.reserveCapacity(count ?? 100_000)
    var sent = 0
    while true {
        if let count, sent >= count { break }
        if let deadline, now() >= deadline { break }
        sent += 1
        let (latency, status, error) = await once(client, request, expect: options.expect, timeout: options.timeout)
        result.statuses[status, default: 0] += 1
        if let latency {
            result.latencies.append(latency)
        } else {
            result.errors += 1
            if result.firstError == nil { result.firstError = error }
        }
    }
    return result
}

/// `concurrency` loops at once; `count` is split between them.
func phase(_ client: HTTPClient, _ request: HTTPClientRequest, options: LoadOptions, duration: Double?, count: Int?) async -> (LoopResult, Double) {
    let start = now()
    let deadline = duration.map { start + $0 }
    let n = options.concurrency
    let merged = await withTaskGroup(of: LoopResult.self) { group -> LoopResult in
        for i in 0..<n {
            let share = count.map { $0 / n + (i < $0 % n ? 1 : 0) }
            group.addTask { await loop(client, request, options: options, deadline: deadline, count: share) }
        }
        var all = LoopResult()
        for await part in group {
            all.latencies += part.latencies
            all.errors += part.errors
            for (status, k) in part.statuses { all.statuses[status, default: 0] += k }
            if all.firstError == nil { all.firstError = part.firstError }
        }
        return all
    }
    return (merged, now() - start)
}

/// User + system CPU time of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    #if canImport(Glibc)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// Nearest-rank percentile of sorted values.
func percentile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((q * Double(sorted.count)).rounded(.up))
    return sorted[min(sorted.count - 1, max(0, rank - 1))]
}

func json(_ value: Double) -> String { value.isFinite ? String(value) : "null" }

func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 { out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16) } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out + "\""
}

func runLoad(_ options: LoadOptions) async -> String {
    guard options.urls.count == 1 else { fail("load takes one URL") }
    guard options.duration != nil || options.requests != nil else { fail("load needs --duration or --requests\n\(LoadOptions.usage)") }
    let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
    let client = makeClient(options, group: group)
    let request = makeRequest(options.urls[0], options)
    var warmupCount = 0
    if options.warmupRequests > 0 {
        let (warm, _) = await phase(client, request, options: options, duration: nil, count: options.warmupRequests * options.concurrency)
        warmupCount += warm.latencies.count + warm.errors
    }
    if options.warmup > 0 {
        let (warm, _) = await phase(client, request, options: options, duration: options.warmup, count: nil)
        warmupCount += warm.latencies.count + warm.errors
    }
    let cpuBefore = cpuSeconds()
    let (result, seconds) = await phase(client, request, options: options, duration: options.duration, count: options.requests)
    let clientCPU = cpuSeconds() - cpuBefore
    try? await client.shutdown()
    try? await group.shutdownGracefully()
    let sorted = result.latencies.sorted()
    let ms = { (q: Double) in json(percentile(sorted, q) * 1000) }
    let mean = sorted.isEmpty ? Double.nan : sorted.reduce(0, +) / Double(sorted.count) * 1000
    let statuses = result.statuses.keys.sorted().map { "\"\($0)\": \(result.statuses[$0]!)" }.joined(separator: ", ")
    return """
        {"url": \(jsonString(options.urls[0])), "concurrency": \(options.concurrency), "threads": \(options.threads), \
        "count": \(sorted.count), "errors": \(result.errors), "warmup_count": \(warmupCount), "seconds": \(json(seconds)), "rps": \(json(Double(sorted.count) / seconds)), \
        "p50_ms": \(ms(0.50)), "p90_ms": \(ms(0.90)), "p99_ms": \(ms(0.99)), "min_ms": \(ms(0)), "max_ms": \(ms(1)), "mean_ms": \(json(mean)), \
        "client_cpu_seconds": \(json(clientCPU)), "statuses": {\(statuses)}, "first_error": \(result.firstError.map(jsonString) ?? "null")}
        """
}

/// One request to each URL in turn, on one keep-alive connection that `--warm` URLs opened first.
func runFirst(_ options: LoadOptions) async -> String {
    var options = options
    options.concurrency = 1
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let client = makeClient(options, group: group)
    for url in options.warmURLs {
        for _ in 0..<20 { _ = await once(client, makeRequest(url, options), expect: nil, timeout: options.timeout) }
    }
    var entries: [String] = []
    var errors = 0
    for url in options.urls {
        let (latency, status, error) = await once(client, makeRequest(url, options), expect: options.expect, timeout: options.timeout)
        if latency == nil { errors += 1 }
        entries.append("{\"url\": \(jsonString(url)), \"status\": \(status), \"ms\": \(latency.map { json($0 * 1000) } ?? "null"), \"error\": \(error.map(jsonString) ?? "null")}")
    }
    try? await client.shutdown()
    try? await group.shutdownGracefully()
    return "{\"errors\": \(errors), \"requests\": [\n  " + entries.joined(separator: ",\n  ") + "\n]}"
}
