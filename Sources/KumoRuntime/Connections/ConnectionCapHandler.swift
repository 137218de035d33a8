import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Applies a ``ConnectionCap`` on a listening channel: it sees every accepted connection before
/// the connection is set up, counts it until it closes, and closes it at once over the cap.
final class ConnectionCapHandler: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    let cap: ConnectionCap
    /// Shared with the accepted connections, which may live on other event loops.
    private let tally: NIOLockedValueBox<ConnectionCap.Tally>

    init(_ cap: ConnectionCap) {
        self.cap = cap
        tally = NIOLockedValueBox(ConnectionCap.Tally(maximum: cap.maximum))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let accepted = unwrapInboundIn(data)
        switch tally.withLockedValue({ $0.arrived(now: .now()) }) {
        case .admit:
            let tally = self.tally
            accepted.closeFuture.whenComplete { _ in tally.withLockedValue { $0.left() } }
            context.fireChannelRead(data)
        case .refuse(let log):
            // Not registered yet: closing it here is all it takes (as NIO does when setting up a
            // connection fails).
            accepted.close(promise: nil)
            if let log { cap.log(cap.message(port: context.channel.localAddress?.port, log)) }
        }
    }
}

extension ServerBootstrap {
    /// The listener closes connections over `cap` at once (nil: no cap).
    func capped(_ cap: ConnectionCap?) -> ServerBootstrap {
        guard let cap else { return self }
        return serverChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ConnectionCapHandler(cap))
            }
        }
    }
}
