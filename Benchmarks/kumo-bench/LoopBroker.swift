// `kumo-bench serve PORTFILE --pull-loop`: the gateway's broker on one SwiftNIO event loop, with
// no hop to Swift's concurrency pool or an actor: a client's request, the worker's long-polled
// GET …/next it is handed to, and the worker's POST …/response all run as callbacks on one
// thread. The floor of a gateway designed that way (see Serve.swift for the Hummingbird one).

import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Calls waiting for a worker, workers waiting for a call, and clients waiting for a result;
/// touched only on the broker's one event loop.
final class LoopBroker {
    var queue: [(String, ByteBuffer)] = []
    var idle: [LoopBrokerHandler] = []
    var running: [String: LoopBrokerHandler] = [:]
    var counter = 0
}

final class LoopBrokerHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    static let runtimeAPI = "/2018-06-01/runtime/invocation/"

    let broker: LoopBroker
    private var context: ChannelHandlerContext?
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?

    init(broker: LoopBroker) { self.broker = broker }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
        case .body(var chunk):
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard let head else { return }
            let payload = body ?? context.channel.allocator.buffer(capacity: 0)
            guard head.uri.hasPrefix(LoopBrokerHandler.runtimeAPI) else {
                broker.counter += 1
                let id = "req-\(broker.counter)"
                broker.running[id] = self
                if broker.idle.isEmpty { broker.queue.append((id, payload)) } else { broker.idle.removeFirst().send(id, payload) }
                return
            }
            let rest = head.uri.dropFirst(LoopBrokerHandler.runtimeAPI.count)
            if rest == "next" {
                if broker.queue.isEmpty { broker.idle.append(self) } else {
                    let (id, event) = broker.queue.removeFirst()
                    send(id, event)
                }
                return
            }
            let parts = rest.split(separator: "/")
            if parts.count == 2, parts[1] == "response", let client = broker.running.removeValue(forKey: String(parts[0])) {
                client.respond(.ok, payload)
                respond(.accepted, context.channel.allocator.buffer(string: "{\"status\":\"OK\"}"))
            } else {
                respond(.badRequest, context.channel.allocator.buffer(string: "{}"))
            }
        }
    }

    /// Hands a call to this worker (answers its GET …/next).
    func send(_ id: String, _ event: ByteBuffer) {
        respond(.ok, event, [("Lambda-Runtime-Aws-Request-Id", id), ("Lambda-Runtime-Deadline-Ms", String(Int(time(nil)) * 1000 + 30_000))])
    }

    func respond(_ status: HTTPResponseStatus, _ body: ByteBuffer, _ extra: [(String, String)] = []) {
        guard let context, let head else { return }
        var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", String(body.readableBytes))])
        headers.add(contentsOf: extra)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        self.head = nil
    }
}

func runLoopBroker(portFile: String) async {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let loop = group.next()
    do {
        let box = try await loop.submit { NIOLoopBound(LoopBroker(), eventLoop: loop) }.get()
        let channel = try await ServerBootstrap(group: loop)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false)
                    try channel.pipeline.syncOperations.addHandler(LoopBrokerHandler(broker: box.value))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        writePort(channel.localAddress?.port ?? 0, to: portFile)
        try await channel.closeFuture.get()
    } catch {
        fail("serve --pull-loop: \(error)")
    }
}
