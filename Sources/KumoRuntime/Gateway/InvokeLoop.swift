import NIOCore
import NIOHTTP1
import NIOPosix

/// The one event loop that serves invocations: the gateway, every worker's Runtime API, and the
/// state of every function pool live on it.
///
/// A warm invocation is then a chain of callbacks on one thread — the client's request is read,
/// handed to the worker whose `GET …/next` is parked, the worker's `POST …/response` is read and
/// written back to the client — with no hop to Swift's concurrency pool, an actor, or another
/// thread, each of which costs a wake-up and a context switch (Benchmarks/runtime.sh measures
/// the difference against `kumo-bench serve --pull`, the same design on Hummingbird).
enum InvokeLoop {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    static var loop: any EventLoop { group.next() }
}

/// A whole HTTP request as a handler on the invoke loop sees it.
struct LoopRequest {
    var head: HTTPRequestHead
    var body: [UInt8]
    /// The body was over the server's limit and is empty here.
    var tooLarge: Bool
    /// The URI before and after its `?`.
    var path: Substring
    var query: Substring?

    init(head: HTTPRequestHead, body: [UInt8], tooLarge: Bool) {
        self.head = head
        self.body = body
        self.tooLarge = tooLarge
        if let mark = head.uri.firstIndex(of: "?") {
            path = head.uri[..<mark]
            query = head.uri[head.uri.index(after: mark)...]
        } else {
            path = head.uri[...]
            query = nil
        }
    }
}

/// A request body as it arrives in parts, kept up to `limit` bytes; past it the parts are
/// dropped and only counted. The gateway and the front port read bodies through it.
struct RequestBody {
    let limit: Int
    private(set) var parts: [ByteBuffer] = []
    /// Bytes received, kept or not.
    private(set) var count = 0

    init(limit: Int) { self.limit = limit }

    var tooLarge: Bool { count > limit }

    mutating func reset() {
        parts = []
        count = 0
    }

    mutating func append(_ chunk: ByteBuffer) {
        count += chunk.readableBytes
        if tooLarge { parts = [] } else { parts.append(chunk) }
    }

    /// The kept parts as one array.
    var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(parts.reduce(0) { $0 + $1.readableBytes })
        for part in parts { bytes += part.readableBytesView }
        return bytes
    }
}

/// An answer: status, headers and a body (Content-Length is added).
struct LoopResponse {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: [UInt8]

    init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func json(_ status: HTTPResponseStatus, _ bytes: [UInt8], headers: HTTPHeaders = [:]) -> LoopResponse {
        var fields = headers
        fields.replaceOrAdd(name: "Content-Type", value: "application/json")
        return LoopResponse(status: status, headers: fields, body: bytes)
    }

    static func json(_ status: HTTPResponseStatus, _ text: String, headers: HTTPHeaders = [:]) -> LoopResponse {
        json(status, Array(text.utf8), headers: headers)
    }
}

/// Reads whole requests (the body up to `limit` bytes) and passes each to `handle`, which
/// answers with `respond` at once or later, always on the connection's event loop. Pipelined
/// requests wait for the answer before them (NIO's pipelining handler); timeouts, malformed
/// requests and closing after `Connection: close` are the ``HTTPConnectionGuard``'s.
final class LoopHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    typealias Handle = (LoopRequest, LoopHTTPHandler) -> Void

    private let handle: Handle
    private let closed: ((LoopHTTPHandler) -> Void)?
    private var context: ChannelHandlerContext?
    private var head: HTTPRequestHead?
    private var body: RequestBody
    /// A request was handed over and not yet answered.
    private(set) var awaiting = false

    init(limit: Int, handle: @escaping Handle, closed: ((LoopHTTPHandler) -> Void)? = nil) {
        body = RequestBody(limit: limit)
        self.handle = handle
        self.closed = closed
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.reset()
            LoopHTTPHandler.continueIfExpected(head, context: context)
        case .body(let chunk):
            body.append(chunk)
        case .end:
            guard let head else { return }
            awaiting = true
            let request = LoopRequest(head: head, body: body.bytes, tooLarge: body.tooLarge)
            body.reset()
            handle(request, self)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if awaiting {
            awaiting = false
            closed?(self)
        }
        context.fireChannelInactive()
    }

    /// Answers the request in hand (once; later calls do nothing).
    func respond(_ response: LoopResponse) {
        guard awaiting, let context, let head else { return }
        awaiting = false
        self.head = nil
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        let keepAlive = head.isKeepAlive
        if !keepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        } else if head.version.minor == 0 {
            headers.replaceOrAdd(name: "Connection", value: "keep-alive")  // HTTP/1.0 closes unless told
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
        if !response.body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Answers `Expect: 100-continue` with `100 Continue`, so that clients (curl does this for
    /// bodies over 1 KB) send the body at once instead of after waiting a second for it.
    static func continueIfExpected(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard head.version.major == 1, head.version.minor >= 1,
              head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) else { return }
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
    }

    /// Binds a server on 127.0.0.1:`port` (0: the kernel chooses) whose connections all live on
    /// `loop`, each with a handler from `make` behind an ``HTTPConnectionGuard``, at most
    /// `cap`'s maximum at once when there is a cap.
    static func bind(port: Int, host: String = "127.0.0.1", on loop: any EventLoop, timeouts: HTTPConnectionGuard.Timeouts = .standard,
                     cap: ConnectionCap? = nil, make: @escaping @Sendable () -> LoopHTTPHandler) -> EventLoopFuture<any Channel> {
        ServerBootstrap(group: loop)
            .capped(cap)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureGuardedHTTPServer(timeouts: timeouts)
                    try channel.pipeline.syncOperations.addHandler(make())
                }
            }
            .bind(host: host, port: port)
    }
}
