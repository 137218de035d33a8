@testable import KumoRuntime
import NIOCore
import Testing

/// A listener's connection cap as a value, with time moved by the test.
struct ConnectionCapTests {
    @Test func connectionsOverTheCapAreRefusedAndSaidAtMostOnceAMinute() {
        var tally = ConnectionCap.Tally(maximum: 2)
        let start = NIODeadline.now()
        #expect(tally.arrived(now: start) == .admit)
        #expect(tally.arrived(now: start) == .admit)
        // The first refusal is said at once; the next ones within a minute only counted.
        #expect(tally.arrived(now: start) == .refuse(log: .init(refused: 1, first: true)))
        for second in 1...59 { #expect(tally.arrived(now: start + .seconds(Int64(second))) == .refuse(log: nil)) }
        // A minute on, the next refusal is said with all those since the last line.
        #expect(tally.arrived(now: start + .seconds(60)) == .refuse(log: .init(refused: 60, first: false)))
        // A connection that closes makes room for one more.
        tally.left()
        #expect(tally.arrived(now: start + .seconds(61)) == .admit)
        #expect(tally.arrived(now: start + .seconds(62)) == .refuse(log: nil))
        #expect(tally.open == 2)
    }

    @Test func theLineNamesTheListenerItsAddressAndTheCap() {
        let cap = ConnectionCap(listener: "front port of service web", maximum: 1024) { _ in }
        #expect(cap.message(port: 8080, .init(refused: 1, first: true))
            == "front port of service web 127.0.0.1:8080 is at its cap of 1024 open connections: new connections are closed at once (logged at most once a minute)")
        #expect(cap.message(port: 8080, .init(refused: 57, first: false)).hasSuffix("(57 refused since the last such line; logged at most once a minute)"))
    }
}
