import Foundation
import NIOConcurrencyHelpers
import Prometheus

/// The runtime's Prometheus metrics (`GET /metrics` on a loopback port of its own): counters and
/// gauges refreshed from the pools', services', rules' and policies' own counts at each scrape,
/// and the invocation-duration histograms and scaling decisions recorded as they happen.
final class RuntimeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// The cumulative totals already added to each counter (the sources keep totals; Prometheus
    /// counters take increments).
    private let seen = NIOLockedValueBox<[String: Int]>([:])

    static let durationBuckets: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                               .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
                                               .seconds(5), .seconds(10), .seconds(30)]

    /// Brings a counter up to `total` (a source's cumulative count).
    func counter(_ name: String, _ help: String, _ labels: [(String, String)], total: Int) {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let delta: Int = seen.withLockedValue { seen in
            let before = seen[key] ?? 0
            seen[key] = total
            // A source that restarted from zero (a replaced pool) counts again from there.
            return total >= before ? total - before : total
        }
        let counter = registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, helpText: help), labels: labels)
        if delta > 0 { counter.increment(by: Int64(delta)) }
    }

    func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, helpText: help), labels: labels).set(value)
    }

    /// One finished invocation of `function`.
    func invoked(_ function: String, seconds: Double) {
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(metricName: "kumo_function_duration_seconds", helpText: "Invocation durations, from queueing to the answer."),
            labels: [("function", function)], buckets: RuntimeMetrics.durationBuckets
        ).record(.milliseconds(Int64((seconds * 1000).rounded())))
    }

    /// One decision of a scaling policy.
    func decided(policy: String, target: String, reason: String, replicas: Int) {
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "kumo_scaling_decisions_total", helpText: "Scaling decisions, by the rule that bound them."),
                             labels: [("policy", policy), ("target", target), ("reason", reason)]).increment()
        gauge("kumo_scaling_replicas", "The count the policy's last decision chose.", [("policy", policy), ("target", target)], Double(replicas))
    }

    func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
