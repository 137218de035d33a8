// `kumo-bench serve`: floors for the gateway benchmark, on the server stack Kumo's runtime uses
// (Hummingbird on SwiftNIO, handlers on the Swift concurrency pool, 127.0.0.1, kernel-chosen port).
//
//   kumo-bench serve PORTFILE          answers every request with its own body (200, JSON)
//   kumo-bench serve PORTFILE --pull   a minimal Lambda broker: a POST to any path other than the
//                                      Runtime API is queued for a worker, and answered with what
//                                      the worker posts back; workers (Kumo's own bootstrap, with
//                                      AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT) take calls with
//                                      GET /2018-06-01/runtime/invocation/next and answer with
//                                      POST …/invocation/ID/response
//
// The echo is the cost of one HTTP exchange on that stack. The broker has Kumo's gateway design
// (one exchange with the client, a long-polled one with the Python worker, one actor between
// them) and nothing else: no logs, timers, memory checks, request validation or headers beyond
// the request id and deadline — the least a gateway of that design costs on that stack.
// The port is written to PORTFILE once the server listens; it runs until killed.

import HTTPTypes
import Hummingbird
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Calls waiting for a worker, workers waiting for a call, and calls a worker is running.
actor Broker {
    private var queue: [(String, ByteBuffer)] = []
    private var idle: [CheckedContinuation<(String, ByteBuffer), Never>] = []
    private var running: [String: CheckedContinuation<ByteBuffer, Never>] = [:]
    private var counter = 0

    func invoke(_ event: ByteBuffer) async -> ByteBuffer {
        counter += 1
        let id = "req-\(counter)"
        return await withCheckedContinuation { continuation in
            running[id] = continuation
            if idle.isEmpty { queue.append((id, event)) } else { idle.removeFirst().resume(returning: (id, event)) }
        }
    }

    func next() async -> (String, ByteBuffer) {
        if !queue.isEmpty { return queue.removeFirst() }
        return await withCheckedContinuation { idle.append($0) }
    }

    func complete(_ id: String, _ result: ByteBuffer) -> Bool {
        guard let continuation = running.removeValue(forKey: id) else { return false }
        continuation.resume(returning: result)
        return true
    }
}

func runServe(_ arguments: ArraySlice<String>) async {
    var rest = arguments
    guard let portFile = rest.popFirst() else { fail("usage: kumo-bench serve PORTFILE [--pull]") }
    var pull = false
    while let argument = rest.popFirst() {
        switch argument {
        case "--pull": pull = true
        case "--pull-loop": return await runLoopBroker(portFile: portFile)
        default: fail("serve: unknown argument \(argument)")
        }
    }
    let broker = pull ? Broker() : nil
    let runtimeAPI = "/2018-06-01/runtime/invocation/"
    let requestID = HTTPField.Name("Lambda-Runtime-Aws-Request-Id")!
    let deadline = HTTPField.Name("Lambda-Runtime-Deadline-Ms")!

    var logger = Logger(label: "kumo-bench-serve")
    logger.logLevel = .critical
    let app = Application(
        responder: CallbackResponder { (request: Request, _: BasicRequestContext) async throws -> Response in
            var body = request.body
            let bytes = try await body.collect(upTo: 6 << 20)
            var headers: HTTPFields = [:]
            headers[.contentType] = "application/json"
            guard let broker else {
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: bytes))
            }
            let path = request.uri.path
            guard path.hasPrefix(runtimeAPI) else {
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: await broker.invoke(bytes)))
            }
            let rest = path.dropFirst(runtimeAPI.count)
            if rest == "next" {
                let (id, event) = await broker.next()
                headers[requestID] = id
                headers[deadline] = String(Int(time(nil)) * 1000 + 30_000)
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: event))
            }
            let parts = rest.split(separator: "/")
            guard parts.count == 2, parts[1] == "response", await broker.complete(String(parts[0]), bytes) else {
                return Response(status: .badRequest, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
            }
            return Response(status: .accepted, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"status\":\"OK\"}")))
        },
        configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0), serverName: nil),
        onServerRunning: { channel in writePort(channel.localAddress?.port ?? 0, to: portFile) },
        logger: logger)
    do { try await app.run() } catch { fail("serve: \(error)") }
}

/// Writes the port to PORTFILE (through a temporary file, so readers never see half of it).
func writePort(_ port: Int, to portFile: String) {
    let temporary = portFile + ".tmp"
    guard let f = fopen(temporary, "w") else { fail("cannot write \(temporary)") }
    fputs("\(port)", f)
    fclose(f)
    rename(temporary, portFile)
}
