@testable import KumoRuntime
import Testing

/// The front port's balancer and the replicas' restart back-off, without processes.
@Suite struct BalancerAndBackoffTests {
    @Test func theBalancerPicksTheReadyReplicaWithFewestInFlightAndTakesTurnsOnTies() {
        let balancer = Balancer()
        balancer.set(1, port: 9001, ready: true)
        balancer.set(2, port: 9002, ready: true)
        balancer.set(3, port: 9003, ready: false)
        // Ties go round: two picks with nothing in flight land on both ready replicas, never the
        // one that is not ready.
        let first = balancer.pick(), second = balancer.pick()
        #expect(Set([first?.id, second?.id]) == [1, 2])
        // 1 and 2 have one each in flight; finishing 2's makes it the only one with fewest.
        balancer.finish(second!.id, ok: true)
        #expect(balancer.pick()?.id == second!.id)
        #expect(balancer.inFlight(1) == 1 && balancer.inFlight(2) == 1 && balancer.inFlight(3) == 0)
        // A replica that turns ready joins; one that leaves is never picked again.
        balancer.set(3, port: 9003, ready: true)
        #expect(balancer.pick()?.port == 9003)
        balancer.remove(1)
        balancer.remove(2)
        balancer.set(3, port: 9003, ready: false)
        #expect(balancer.pick() == nil, "no ready replica: nothing to pick")
        let metrics = balancer.metrics
        #expect(metrics.served == 1 && metrics.failed == 0)
        #expect(metrics.inFlight == 1, "replica 3's request is still in flight")
    }

    @Test func sequentialRequestsGoRoundTheReplicas() {
        let balancer = Balancer()
        for id in 1...3 { balancer.set(id, port: 9000 + id, ready: true) }
        var picked: [Int] = []
        for _ in 0..<6 {
            let choice = balancer.pick()!
            picked.append(choice.id)
            balancer.finish(choice.id, ok: true)
        }
        #expect(picked.sorted() == [1, 1, 2, 2, 3, 3], "one request at a time still spreads: \(picked)")
    }

    @Test func failedRequestsAreCounted() {
        let balancer = Balancer()
        balancer.set(7, port: 1, ready: true)
        for ok in [true, false, false] {
            let picked = balancer.pick()
            balancer.finish(picked!.id, ok: ok)
        }
        #expect(balancer.metrics.served == 3 && balancer.metrics.failed == 2 && balancer.metrics.inFlight == 0)
    }

    @Test func theBackoffDoublesToAMinuteAndResetsAfterTenHealthySeconds() {
        let start = ContinuousClock.now
        var backoff = RestartBackoff()
        let delays = (0..<12).map { i in backoff.restart(at: start + .seconds(i)) }
        #expect(delays.map { Int($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) }
                == [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000])
        // Healthy for exactly 10 s is not enough; for more, the next restart waits 100 ms again.
        backoff.healthy(at: start + .seconds(100))
        #expect(backoff.restart(at: start + .seconds(110)) == .seconds(60))
        backoff.healthy(at: start + .seconds(200))
        #expect(backoff.restart(at: start + .seconds(210) + .milliseconds(1)) == .milliseconds(100))
        #expect(backoff.restart(at: start + .seconds(211)) == .milliseconds(200))
        // Becoming healthy again while healthy keeps the first instant.
        backoff.healthy(at: start + .seconds(300))
        backoff.healthy(at: start + .seconds(309))
        #expect(backoff.restart(at: start + .seconds(311)) == .milliseconds(100))
    }
}
