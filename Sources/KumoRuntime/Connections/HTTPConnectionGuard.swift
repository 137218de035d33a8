import NIOCore
import NIOHTTP1

/// Keeps a client from holding one of the runtime's HTTP connections for as long as it likes.
///
/// Every listener that clients reach — the gateway, each worker's Runtime API and each
/// service's front port — puts one on every connection, between NIO's HTTP/1.1 handlers and
/// its own (``ChannelPipeline/SynchronousOperations/configureGuardedHTTPServer(timeouts:)``):
///
/// - a request's head must arrive within ``Timeouts/header`` of the connection opening or of the
///   request's first byte (a client that sends nothing, or stalls inside its headers, is closed);
/// - a keep-alive connection may be idle between requests for ``Timeouts/idle``;
/// - once a request's head has arrived its body is not timed here (the body limit bounds it);
/// - while a request waits for its answer (a worker's parked `next`, a replica still working)
///   nothing times out here: that wait has limits of its own (the function's timeout, the front
///   port's `upstreamTimeout`);
/// - a malformed request is answered `400` with `Connection: close`, and any answer that does
///   not keep the connection alive (`Connection: close`, or HTTP/1.0 without keep-alive) ends it
///   once written.
///
/// The handlers behind it only answer; when to close is decided here. Used only on its
/// channel's event loop.
final class HTTPConnectionGuard: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    struct Timeouts: Sendable, Equatable {
        var header: TimeAmount
        var idle: TimeAmount

        static let standard = Timeouts(header: .seconds(10), idle: .seconds(60))
    }

    /// Where the connection is in its exchange of requests and answers.
    private enum Phase {
        /// Between requests; `started`: bytes of the next one have arrived.
        case between(started: Bool)
        /// A request's head has arrived and its body is being read.
        case reading
        /// A whole request waits for its answer; `next`: bytes of another arrived meanwhile
        /// (NIO's pipelining handler asks for no reads while an answer is pending, but a read
        /// already under way may bring some).
        case answering(next: Bool)
    }

    let timeouts: Timeouts
    private var phase = Phase.between(started: false)
    /// The answer being written ends the connection.
    private var closeAfterAnswer = false
    private var deadline: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(timeouts: Timeouts = .standard) {
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { arm(timeouts.header) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(timeouts.header)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    /// Closes the connection after `amount` unless the phase changes first.
    private func arm(_ amount: TimeAmount) {
        deadline?.cancel()
        guard let context else { return }
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: amount) { channel.close(promise: nil) }
    }

    /// Raw bytes arrived, before they are parsed (``ReadTap``): a request has begun, and its
    /// head must follow within the header timeout.
    func bytesArrived() {
        switch phase {
        case .between(started: false):
            phase = .between(started: true)
            arm(timeouts.header)
        case .answering(next: false):
            phase = .answering(next: true)
        default:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            deadline = nil
            phase = .reading
        case .body:
            break
        case .end:
            phase = .answering(next: false)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200:
            closeAfterAnswer = !head.isKeepAlive
        case .head, .body:
            break
        case .end:
            if closeAfterAnswer {
                let channel = context.channel
                let written = context.eventLoop.makePromise(of: Void.self)
                written.futureResult.whenComplete { result in
                    promise?.completeWith(result)
                    channel.close(promise: nil)
                }
                context.write(data, promise: written)
                return
            }
            // Before the answer goes on: a pipelined request that it releases re-arms or
            // cancels the deadline as it arrives.
            var next = false
            if case .answering(next: true) = phase { next = true }
            phase = .between(started: next)
            arm(next ? timeouts.header : timeouts.idle)
        }
        context.write(data, promise: promise)
    }

    /// A malformed request: `400` with `Connection: close`, then the connection ends. Any other
    /// error ends it at once.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        deadline?.cancel()
        deadline = nil
        if case .answering = phase { return context.close(promise: nil) }
        guard error is HTTPParserError else { return context.close(promise: nil) }
        let head = HTTPResponseHead(version: .http1_1, status: .badRequest, headers: ["Connection": "close", "Content-Length": "0"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// Tells its connection's ``HTTPConnectionGuard`` that bytes arrived, before they are parsed:
/// the header timeout starts with a request's first byte, not with its complete head.
final class ReadTap: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let connection: HTTPConnectionGuard

    init(_ connection: HTTPConnectionGuard) { self.connection = connection }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.bytesArrived()
        context.fireChannelRead(data)
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// NIO's HTTP/1.1 server handlers (with pipelining) behind an ``HTTPConnectionGuard``: the
    /// pipeline of every listener that clients reach. The caller adds its own handler after it.
    func configureGuardedHTTPServer(timeouts: HTTPConnectionGuard.Timeouts = .standard) throws {
        let connection = HTTPConnectionGuard(timeouts: timeouts)
        try addHandler(ReadTap(connection))
        // Parse errors reach the guard, which answers 400 and closes.
        try configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: false)
        try addHandler(connection)
    }
}
