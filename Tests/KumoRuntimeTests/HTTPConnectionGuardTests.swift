import Foundation
@testable import KumoRuntime
import NIOCore
import NIOHTTP1
import Testing

/// The connection guard's timeouts in wall time, shortened (the daemon's are 10 s and 60 s):
/// a gateway-style server and a front port in this process, seen from raw sockets.
@Suite(.serialized) struct HTTPConnectionGuardTests {
    static let short = HTTPConnectionGuard.Timeouts(header: .milliseconds(300), idle: .milliseconds(600))

    /// A server on the invoke loop that answers `/wait?ms=N` after N ms.
    func waitingServer(_ timeouts: HTTPConnectionGuard.Timeouts) async throws -> any Channel {
        try await LoopHTTPHandler.bind(port: 0, on: InvokeLoop.loop, timeouts: timeouts) {
            LoopHTTPHandler(limit: 1024, handle: { request, handler in
                let ms = Int64(request.query?.split(separator: "=").last ?? "0") ?? 0
                let bound = NIOLoopBound(handler, eventLoop: InvokeLoop.loop)
                InvokeLoop.loop.scheduleTask(in: .milliseconds(ms)) {
                    bound.value.respond(LoopResponse(status: .ok, body: Array("waited \(ms) ms".utf8)))
                }
            })
        }.get()
    }

    /// Sends each part `after` seconds from connecting, and reads until the server closes or
    /// `limit` seconds pass: what arrived, and when the server closed (nil: still open).
    static func exchange(port: Int, _ parts: [(after: Double, bytes: String)], limit: Double) async throws -> (received: String, closedAt: Double?) {
        try await Task.detached {
            let fd = try RawHTTP.connected(port: port)
            defer { close(fd) }
            let start = Date()
            var pending = parts
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            var timeout = timeval(tv_sec: 0, tv_usec: 20_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            while Date().timeIntervalSince(start) < limit {
                if let part = pending.first, Date().timeIntervalSince(start) >= part.after {
                    pending.removeFirst()
                    try RawHTTP.sendAll(fd, Array(part.bytes.utf8))
                }
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n == 0 || (n < 0 && errno == ECONNRESET) {
                    return (String(decoding: received, as: UTF8.self), Date().timeIntervalSince(start))
                }
                if n > 0 { received.append(contentsOf: buffer[0..<n]) }
            }
            return (String(decoding: received, as: UTF8.self), nil)
        }.value
    }

    /// A request may wait for its answer longer than both timeouts; once answered, the idle
    /// keep-alive connection closes after the idle timeout, not before and not never.
    @Test func anAnsweredKeepAliveConnectionClosesAfterTheIdleTimeout() async throws {
        let server = try await waitingServer(HTTPConnectionGuardTests.short)
        defer { server.close(promise: nil) }
        let port = try #require(server.localAddress?.port)
        let (received, closedAt) = try await HTTPConnectionGuardTests.exchange(port: port, [(0, "GET /wait?ms=1000 HTTP/1.1\r\nHost: t\r\n\r\n")], limit: 4)
        #expect(received.hasPrefix("HTTP/1.1 200") && received.hasSuffix("waited 1000 ms"), "\(received)")
        let closed = try #require(closedAt, "the idle connection was never closed")
        #expect(closed >= 1.5 && closed < 2.5, "answered at 1 s, closed \(closed) s after connecting (idle timeout 0.6 s)")
    }

    /// A request begun while the one before it is being answered (pipelined) must finish its
    /// head within the header timeout of that answer, not the idle timeout.
    @Test func aPipelinedRequestLeftHalfSentGetsTheHeaderTimeout() async throws {
        let server = try await waitingServer(.init(header: .milliseconds(300), idle: .seconds(5)))
        defer { server.close(promise: nil) }
        let port = try #require(server.localAddress?.port)
        let (received, closedAt) = try await HTTPConnectionGuardTests.exchange(port: port, [
            (0, "GET /wait?ms=800 HTTP/1.1\r\nHost: t\r\n\r\n"),
            (0.2, "GET /wait?ms=0 HTTP/1.1\r\nHost: "),
        ], limit: 4)
        #expect(received.hasPrefix("HTTP/1.1 200"), "\(received)")
        let closed = try #require(closedAt, "the stalled pipelined request held the connection")
        #expect(closed >= 0.9 && closed < 2, "answered at 0.8 s, closed \(closed) s after connecting (header timeout 0.3 s)")
    }

    /// The front port: a request waits for a slow replica longer than both timeouts, then the
    /// idle keep-alive connection closes after the idle timeout.
    @Test func theFrontPortClosesAnIdleKeepAliveConnection() async throws {
        let replica = try await waitingServer(.standard)
        defer { replica.close(promise: nil) }
        let balancer = Balancer()
        balancer.set(1, port: try #require(replica.localAddress?.port), ready: true)
        let front = try await FrontProxy.start(port: 0, service: "guarded", balancer: balancer, cap: ConnectionCap(listener: "front port") { _ in },
                                               timeouts: HTTPConnectionGuardTests.short)
        let (received, closedAt) = try await HTTPConnectionGuardTests.exchange(port: front.port, [(0, "GET /wait?ms=1000 HTTP/1.1\r\nHost: t\r\n\r\n")], limit: 4)
        await front.stop()
        #expect(received.hasPrefix("HTTP/1.1 200") && received.hasSuffix("waited 1000 ms"), "\(received)")
        let closed = try #require(closedAt, "the idle connection was never closed")
        #expect(closed >= 1.5 && closed < 2.5, "answered at 1 s, closed \(closed) s after connecting (idle timeout 0.6 s)")
    }
}
