import Foundation
import KumoManifest
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Which replicas may take requests, and how many each has in flight.
///
/// Shared by the supervisor (which moves replicas in and out as they start, turn healthy or
/// unhealthy and drain) and the front port's event loops (which pick and release replicas per
/// request), so it is a lock, not an actor: a request never waits for the supervisor.
final class Balancer: Sendable {
    struct Entry {
        var port: Int
        var ready: Bool
        var inFlight = 0
    }

    struct Metrics {
        var requestsPerSecond = 0.0
        var inFlight = 0
        var served = 0
        var failed = 0
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        /// Replica ids in the order they joined, scanned from a rotating cursor so that ties on
        /// in-flight requests go round robin rather than to the first replica.
        var order: [Int] = []
        var cursor = 0
        var served = 0
        var failed = 0
        var windowStart = NIODeadline.now()
        var windowCount = 0
        var lastRate = 0.0
    }

    private let state = NIOLockedValueBox(State())
    /// Asked for a replica when a request finds none at all (scaled to zero); once until one joins.
    private let activation = NIOLockedValueBox<(activator: (@Sendable () -> Void)?, asked: Bool)>((nil, false))

    func setActivator(_ activator: (@Sendable () -> Void)?) {
        activation.withLockedValue { $0.activator = activator }
    }

    /// A request found no ready replica. With no replica at all, asks the activator for one and
    /// answers true: the request should be held while it starts (Knative's activator).
    func demand() -> Bool {
        guard state.withLockedValue({ $0.order.isEmpty }) else { return false }
        let activator: (@Sendable () -> Void)? = activation.withLockedValue { a in
            guard let activator = a.activator else { return nil }
            if a.asked { return { } }
            a.asked = true
            return activator
        }
        guard let activator else { return false }
        activator()
        return true
    }

    /// Adds a replica or changes its port or readiness.
    func set(_ id: Int, port: Int, ready: Bool) {
        activation.withLockedValue { $0.asked = false }
        state.withLockedValue { state in
            if state.entries[id] == nil { state.order.append(id) }
            state.entries[id, default: Entry(port: port, ready: ready)].port = port
            state.entries[id]!.ready = ready
        }
    }

    func remove(_ id: Int) {
        state.withLockedValue { state in
            state.entries[id] = nil
            state.order.removeAll { $0 == id }
        }
    }

    /// The ready replica with the fewest requests in flight, now counted as one more.
    func pick() -> (id: Int, port: Int)? {
        state.withLockedValue { state in
            let count = state.order.count
            guard count > 0 else { return nil }
            var best: Int?
            var fewest = Int.max
            for step in 0..<count {
                let id = state.order[(state.cursor + step) % count]
                guard let entry = state.entries[id], entry.ready, entry.inFlight < fewest else { continue }
                best = id
                fewest = entry.inFlight
            }
            state.cursor = (state.cursor + 1) % count
            guard let id = best else { return nil }
            state.entries[id]!.inFlight += 1
            return (id, state.entries[id]!.port)
        }
    }

    func finish(_ id: Int, ok: Bool) {
        state.withLockedValue { state in
            state.entries[id]?.inFlight -= 1
            state.served += 1
            if !ok { state.failed += 1 }
            state.windowCount += 1
            let now = NIODeadline.now()
            let elapsed = now - state.windowStart
            if elapsed >= .seconds(1) {
                state.lastRate = Double(state.windowCount) / (Double(elapsed.nanoseconds) / 1e9)
                state.windowCount = 0
                state.windowStart = now
            }
        }
    }

    func inFlight(_ id: Int) -> Int {
        state.withLockedValue { $0.entries[id]?.inFlight ?? 0 }
    }

    var metrics: Metrics {
        state.withLockedValue { state in
            // No request finished for over a second: the rate is what the open window shows.
            let elapsed = NIODeadline.now() - state.windowStart
            let rate = elapsed > .seconds(2) ? Double(state.windowCount) / (Double(elapsed.nanoseconds) / 1e9) : state.lastRate
            return Metrics(requestsPerSecond: rate, inFlight: state.entries.values.reduce(0) { $0 + $1.inFlight },
                    served: state.served, failed: state.failed)
        }
    }
}

/// A service's stable front port: an HTTP/1.1 reverse proxy written directly on SwiftNIO.
///
/// Each client connection is served on its event loop from end to end: the request is read
/// (whole, so that it can be sent again), a replica is picked, an idle keep-alive connection to
/// it is taken from that loop's pool (or opened on the same loop), and the response is streamed
/// back part by part. No request crosses a thread or an actor, which is what keeps the proxy's
/// cost per request small next to the replica's (see Benchmarks/services.sh).
final class FrontProxy: Sendable {
    static let maxBody = 64 * 1024 * 1024

    /// How long a replica may take to answer (then 504, or the connection is closed when part
    /// of the answer was sent).
    static let upstreamTimeout = TimeAmount.seconds(300)

    let port: Int
    private let channel: any Channel
    private let pools: PoolSet
    private let clients: ClientSet

    /// Listens on 127.0.0.1:`port`; client connections live on `group`'s loops, each behind an
    /// ``HTTPConnectionGuard`` with `timeouts`, at most `cap`'s maximum at once.
    static func start(port: Int, service: String, balancer: Balancer, cap: ConnectionCap, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                      timeouts: HTTPConnectionGuard.Timeouts = .standard) async throws -> FrontProxy {
        let pools = PoolSet()
        let clients = ClientSet()
        let channel = try await ServerBootstrap(group: group)
            .capped(cap)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureGuardedHTTPServer(timeouts: timeouts)
                    let pool = pools.pool(for: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandler(FrontHandler(service: service, balancer: balancer, pool: pool))
                    clients.add(channel)
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        return FrontProxy(port: channel.localAddress?.port ?? port, channel: channel, pools: pools, clients: clients)
    }

    private init(port: Int, channel: any Channel, pools: PoolSet, clients: ClientSet) {
        self.port = port
        self.channel = channel
        self.pools = pools
        self.clients = clients
    }

    /// Stops listening, closes the client connections (so none keeps talking to a balancer
    /// that no longer has replicas) and the replica connections.
    func stop() async {
        try? await channel.close()
        clients.closeAll()
        await pools.closeAll()
    }
}

/// The client connections of a front port, to close them when it stops.
private final class ClientSet: Sendable {
    private let channels = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLockedValue { $0[id] = channel }
        channel.closeFuture.whenComplete { _ in _ = self.channels.withLockedValue { $0.removeValue(forKey: id) } }
    }

    func closeAll() {
        for channel in channels.withLockedValue({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

/// One pool of idle replica connections per event loop.
private final class PoolSet: Sendable {
    private let pools = NIOLockedValueBox<[ObjectIdentifier: UpstreamPool]>([:])

    func pool(for loop: any EventLoop) -> UpstreamPool {
        pools.withLockedValue { pools in
            if let pool = pools[ObjectIdentifier(loop)] { return pool }
            let pool = UpstreamPool(loop: loop)
            pools[ObjectIdentifier(loop)] = pool
            return pool
        }
    }

    func closeAll() async {
        let all = pools.withLockedValue { Array($0.values) }
        for pool in all {
            try? await pool.loop.submit { pool.closeAll() }.get()
        }
    }
}

/// Idle keep-alive connections to replicas, by port; used only on its own event loop.
private final class UpstreamPool: @unchecked Sendable {
    static let maxIdlePerPort = 64
    let loop: any EventLoop
    private var idle: [Int: [any Channel]] = [:]
    private var stopped = false

    init(loop: any EventLoop) { self.loop = loop }

    func take(port: Int) -> (any Channel)? {
        loop.preconditionInEventLoop()
        while let channel = idle[port]?.popLast() {
            if channel.isActive { return channel }
        }
        return nil
    }

    func put(_ channel: any Channel, port: Int) {
        loop.preconditionInEventLoop()
        if !stopped && idle[port, default: []].count < UpstreamPool.maxIdlePerPort {
            idle[port, default: []].append(channel)
        } else {
            channel.close(promise: nil)
        }
    }

    func forget(_ channel: any Channel, port: Int) {
        idle[port]?.removeAll { $0 === channel }
    }

    func closeAll() {
        stopped = true
        for channels in idle.values { for channel in channels { channel.close(promise: nil) } }
        idle = [:]
    }

    /// Opens a connection to a replica on this loop.
    func connect(port: Int) -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler(pool: self, port: port))
                }
            }
            .connect(host: "127.0.0.1", port: port)
    }
}

/// What an upstream connection reports to the client connection it currently serves.
private protocol UpstreamDelegate: AnyObject {
    func upstream(_ part: HTTPClientResponsePart)
    func upstreamFlush()
    func upstreamFailed(_ error: any Error)
}

/// The handler at the end of a replica connection: passes response parts to the current
/// exchange, and takes itself out of the pool when the replica closes an idle connection.
private final class UpstreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let pool: UpstreamPool
    let port: Int
    weak var delegate: (any UpstreamDelegate)?

    init(pool: UpstreamPool, port: Int) {
        self.pool = pool
        self.port = port
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        delegate?.upstream(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamFlush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let delegate {
            self.delegate = nil
            delegate.upstreamFailed(ChannelError.eof)
        } else {
            pool.forget(context.channel, port: port)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let delegate {
            self.delegate = nil
            delegate.upstreamFailed(error)
        }
        context.close(promise: nil)
    }
}

/// One client connection on the front port.
private final class FrontHandler: ChannelInboundHandler, UpstreamDelegate {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded; `host` is set to the replica's.
    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer",
                                        "proxy-authorization", "proxy-authenticate", "host", "content-length", "expect"]

    let service: String
    let balancer: Balancer
    let pool: UpstreamPool
    private var context: ChannelHandlerContext?

    // The request being served.
    private var head: HTTPRequestHead?
    private var body = RequestBody(limit: FrontProxy.maxBody)
    private var attempts = 0
    private var waitingSince: NIODeadline?
    /// This request asked for a replica of a service scaled to zero, and waits for it.
    private var activating = false
    // The exchange with a replica.
    private var replica: (id: Int, port: Int)?
    private var upstream: (any Channel)?
    /// The handler at the end of `upstream`, found once per exchange.
    private var upstreamHandler: UpstreamHandler?
    private var responded = false
    /// The request went out to a replica (so a non-idempotent one is not sent again).
    private var sent = false
    private var upstreamKeepAlive = true
    private var clientCloses = false
    /// Reads from the replica are paused while the client cannot take more.
    private var upstreamPaused = false
    private var deadline: Scheduled<Void>?

    init(service: String, balancer: Balancer, pool: UpstreamPool) {
        self.service = service
        self.balancer = balancer
        self.pool = pool
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.reset()
            attempts = 0
            waitingSince = nil
            activating = false
            // The body is read here before a replica sees the request, so the proxy answers
            // the expectation itself (and does not forward it).
            LoopHTTPHandler.continueIfExpected(head, context: context)
        case .body(let chunk):
            body.append(chunk)
        case .end:
            if body.tooLarge {
                reply(.payloadTooLarge, "request body over \(FrontProxy.maxBody) bytes")
            } else {
                dispatch()
            }
        }
    }

    /// A slow client holds back the replica's answer instead of the daemon buffering it.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let upstream, upstreamPaused == context.channel.isWritable {
            upstreamPaused = !context.channel.isWritable
            upstream.setOption(ChannelOptions.autoRead, value: !upstreamPaused).whenFailure { _ in }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        // The client went away mid-exchange: the replica connection cannot be reused.
        releaseUpstream(reuse: false)
        if let replica {
            balancer.finish(replica.id, ok: false)
            self.replica = nil
        }
        head = nil
        context.fireChannelInactive()
    }

    // MARK: Sending to a replica

    private func dispatch() {
        guard let context, head != nil else { return }
        guard let picked = balancer.pick() else {
            // No ready replica (all starting or restarting): hold the request up to 5 s; with
            // none at all (scaled to zero), one is started and the request waits up to 60 s for it.
            let since = waitingSince ?? .now()
            waitingSince = since
            if balancer.demand() { activating = true }
            if NIODeadline.now() - since > (activating ? .seconds(60) : .seconds(5)) {
                reply(.serviceUnavailable, "no ready replica of service \(service)")
            } else {
                let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(20)) { handler.value.dispatch() }
            }
            return
        }
        replica = picked
        responded = false
        sent = false
        if let channel = pool.take(port: picked.port) {
            send(on: channel)
        } else {
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            pool.connect(port: picked.port).hop(to: context.eventLoop).whenComplete { result in
                let this = handler.value
                switch result {
                case .success(let channel):
                    guard this.context != nil, this.replica?.id == picked.id else { channel.close(promise: nil); return }
                    this.send(on: channel)
                case .failure(let error):
                    this.upstreamFailed(error)
                }
            }
        }
    }

    private func send(on channel: any Channel) {
        guard let head, let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
            channel.close(promise: nil)
            upstreamFailed(ChannelError.ioOnClosedChannel)
            return
        }
        upstream = channel
        upstreamHandler = handler
        upstreamKeepAlive = true
        upstreamPaused = false
        handler.delegate = self
        if let context {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: FrontProxy.upstreamTimeout) {
                bound.value.upstreamFailed(ChannelError.connectTimeout(FrontProxy.upstreamTimeout), timedOut: true)
            }
        }
        var headers = HTTPHeaders()
        let named = Set(head.headers[canonicalForm: "connection"].map { $0.lowercased() })
        for (name, value) in head.headers {
            let lower = name.lowercased()
            if FrontHandler.hopByHop.contains(lower) || named.contains(lower) { continue }
            headers.add(name: name, value: value)
        }
        headers.add(name: "Host", value: "127.0.0.1:\(replica?.port ?? 0)")
        headers.add(name: "X-Forwarded-For", value: "127.0.0.1")
        headers.add(name: "X-Forwarded-Host", value: head.headers.first(name: "host") ?? "")
        headers.add(name: "X-Forwarded-Proto", value: "http")
        if body.count > 0 || head.headers.contains(name: "content-length") || head.headers.contains(name: "transfer-encoding") {
            headers.add(name: "Content-Length", value: String(body.count))
        }
        let outgoing = HTTPRequestHead(version: .http1_1, method: head.method, uri: head.uri, headers: headers)
        channel.write(HTTPClientRequestPart.head(outgoing), promise: nil)
        for chunk in body.parts { channel.write(HTTPClientRequestPart.body(.byteBuffer(chunk)), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        sent = true
    }

    // MARK: The replica's answer

    func upstream(_ part: HTTPClientResponsePart) {
        guard let context, let head else { return }
        switch part {
        case .head(let response):
            if response.status.code < 200 { return }  // 1xx: the final answer follows
            responded = true
            upstreamKeepAlive = response.isKeepAlive
            var headers = HTTPHeaders()
            for (name, value) in response.headers where !FrontHandler.hopByHop.contains(name.lowercased()) || name.lowercased() == "content-length" {
                headers.add(name: name, value: value)
            }
            // HTTP/1.0 has no chunked framing: without a length the answer ends with the connection.
            clientCloses = !head.isKeepAlive || (head.version.minor == 0 && !headers.contains(name: "content-length"))
            if clientCloses {
                headers.add(name: "Connection", value: "close")
            } else if head.version.minor == 0 {
                headers.add(name: "Connection", value: "keep-alive")
            }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
        case .body(let chunk):
            context.write(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
        case .end:
            deadline?.cancel()
            deadline = nil
            if let upstream, upstreamPaused {
                upstreamPaused = false
                upstream.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            }
            releaseUpstream(reuse: upstreamKeepAlive)
            if let replica { balancer.finish(replica.id, ok: true) }
            replica = nil
            self.head = nil
            body.reset()
            // An answer that says `Connection: close` ends the connection (the guard closes it).
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    /// Ends the exchange with the replica connection: back to the pool when it can carry another
    /// request, closed otherwise.
    private func releaseUpstream(reuse: Bool) {
        guard let upstream else { return }
        upstreamHandler?.delegate = nil
        if reuse, let replica { pool.put(upstream, port: replica.port) } else { upstream.close(promise: nil) }
        self.upstream = nil
        upstreamHandler = nil
    }

    func upstreamFlush() {
        context?.flush()
    }

    func upstreamFailed(_ error: any Error) {
        upstreamFailed(error, timedOut: false)
    }

    /// Methods that may be sent again after a replica went away holding them (RFC 9110 §9.2.2).
    static func isIdempotent(_ method: HTTPMethod) -> Bool {
        [HTTPMethod.GET, .HEAD, .OPTIONS, .PUT, .DELETE, .TRACE].contains(method)
    }

    func upstreamFailed(_ error: any Error, timedOut: Bool) {
        deadline?.cancel()
        deadline = nil
        releaseUpstream(reuse: false)
        if let replica { balancer.finish(replica.id, ok: false) }
        replica = nil
        guard let context, head != nil else { return }
        if responded {
            // Part of the answer is already with the client: all that is left is to hang up.
            context.close(promise: nil)
            return
        }
        if timedOut {
            return reply(.gatewayTimeout, "replica of \(service) did not answer within \(FrontProxy.upstreamTimeout.nanoseconds / 1_000_000_000) s")
        }
        // The replica went away before answering: once more, on another one — unless it may
        // have acted on a request that must not run twice.
        attempts += 1
        if attempts < 3 && (!sent || FrontHandler.isIdempotent(head?.method ?? .POST)) {
            dispatch()
        } else {
            reply(.badGateway, "replica of \(service) failed: \(error)")
        }
    }

    // MARK: Answers of the proxy's own

    private func reply(_ status: HTTPResponseStatus, _ message: String) {
        guard let context, let head else { return }
        var text = "{\"message\":"
        ConfigValue.writeJSONString(message, into: &text)
        text += "}"
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", String(buffer.readableBytes))])
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") } else if head.version.minor == 0 { headers.add(name: "Connection", value: "keep-alive") }
        self.head = nil
        body.reset()
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
