// kumo-bench: reference measurements and load for Kumo's benchmarks.
//
//   kumo-bench scan FILE
//
// Reads FILE into memory, then pulls every libyaml event with yaml_parser_parse until
// STREAM_END, deleting each one, and prints {"events": N, "bytes": B, "seconds": T}
// where T is the time spent parsing (the file read is excluded). This is the floor the
// product's `kumo validate` is compared against: raw libyaml tokenizing, no tree, no checks.
// (Benchmarks/run.sh.)
//
//   kumo-bench trace FILE
//
// Reads FILE (a load trace, CSV time,load) and parses it with KumoScaling's TraceParser, keeping
// nothing, and prints {"samples": N, "bytes": B, "seconds": T} with T the time reading and
// parsing took: the floor `kumo simulate` is compared against (Benchmarks/simulate.sh).
//
//   kumo-bench load URL [--concurrency N] (--duration S | --requests N) [--warmup S] [--warmup-requests N]
//                       [--body JSON] [--method M] [--header NAME:VALUE]... [--expect BODY] [--threads T]
//
// N loops, each sending one request after another (POST by default) on its own keep-alive
// HTTP/1.1 connection (AsyncHTTPClient, T event-loop threads, default 1), for S seconds or N
// requests in all, after an uncounted warm-up; a request counts as an error unless it answers
// 200 without X-Amz-Function-Error (and, with --expect, with exactly that body). Latency is from
// sending the request to the last byte of the body. Prints one JSON object: count, errors,
// warmup_count, seconds, rps, p50_ms, p90_ms, p99_ms, min_ms, max_ms, mean_ms, client_cpu_seconds
// (the generator's own CPU time while measuring), statuses (of the measured requests), first_error.
//
//   kumo-bench first URL... [--warm URL] [--body JSON] [--expect BODY]
//
// Opens one keep-alive connection with 20 requests to each --warm URL, then sends one request to
// each URL in turn and prints each one's latency: the cold-start probe (Benchmarks/runtime.sh).
//
//   kumo-bench serve PORTFILE [--pull]
//
// A Hummingbird server that echoes each request's body, or (--pull) a minimal broker that hands
// each request to a worker over the Lambda Runtime API: the floors of the gateway latency on
// Kumo's own server stack (see Serve.swift).
//
//   kumo-bench events-match [--events N] [--rules N,N,...] [--seed S]
//
// Parse-only against parse+match throughput of EventBridge events with KumoEvents' Matcher, per
// rule count (see EventsMatch.swift; Benchmarks/events.sh).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let args = CommandLine.arguments
switch args.count > 1 ? args[1] : "" {
case "scan":
    guard args.count == 3 else {
        printError("usage: kumo-bench scan FILE")
        exit(2)
    }
    let bytes = readFile(args[2])
    let start = now()
    let events = scan(bytes)
    let seconds = now() - start
    print("{\"events\": \(events), \"bytes\": \(bytes.count), \"seconds\": \(seconds)}")
case "trace":
    guard args.count == 3 else {
        printError("usage: kumo-bench trace FILE")
        exit(2)
    }
    let result = parseTrace(args[2])
    print("{\"samples\": \(result.samples), \"bytes\": \(result.bytes), \"seconds\": \(result.seconds)}")
case "load":
    print(await runLoad(LoadOptions.parse(args.dropFirst(2))))
case "first":
    print(await runFirst(LoadOptions.parse(args.dropFirst(2))))
case "serve":
    await runServe(args.dropFirst(2))
case "events-match":
    runEventsMatch(EventsMatchOptions.parse(args.dropFirst(2)))
default:
    printError("usage: kumo-bench scan FILE\n       kumo-bench trace FILE\n" + LoadOptions.usage + "\n       kumo-bench serve PORTFILE [--pull]\n       " + EventsMatchOptions.usage)
    exit(2)
}
