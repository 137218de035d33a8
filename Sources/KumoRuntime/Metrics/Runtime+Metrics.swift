import Foundation

extension Runtime {
    /// Refreshes the counters and gauges from the pools', services' and rules' own counts and
    /// returns the Prometheus text exposition.
    func scrape() async -> [UInt8] {
        for (name, pool) in allPools {
            let s = await pool.status()
            let f = [("function", name)]
            metrics.counter("kumo_function_invocations_total", "Invocations, any outcome.", f, total: s.invocations)
            metrics.counter("kumo_function_errors_total", "Invocations that ended in a function error.", f, total: s.errors)
            metrics.counter("kumo_function_throttles_total", "Invocations refused at the concurrency limit.", f, total: s.throttles)
            metrics.counter("kumo_function_cold_starts_total", "Invocations that waited for a worker to start.", f, total: s.coldStarts)
            metrics.gauge("kumo_function_workers", "Workers by state.", f + [("state", "warm")], Double(s.warm))
            metrics.gauge("kumo_function_workers", "Workers by state.", f + [("state", "busy")], Double(s.busy))
            metrics.gauge("kumo_function_workers", "Workers by state.", f + [("state", "starting")], Double(s.starting))
            metrics.gauge("kumo_function_queued", "Invocations waiting for a worker.", f, Double(s.queued))
        }
        for (name, service) in allServices {
            let s = await service.status()
            let m = service.metrics
            let l = [("service", name)]
            metrics.gauge("kumo_service_replicas", "Replicas: desired (manifest or autoscaler) and ready.", l + [("state", "desired")], Double(s.total))
            metrics.gauge("kumo_service_replicas", "Replicas: desired (manifest or autoscaler) and ready.", l + [("state", "ready")], Double(s.ready))
            metrics.counter("kumo_service_requests_total", "Requests answered through the front port.", l, total: m.served)
            metrics.counter("kumo_service_failed_requests_total", "Front-port requests that failed.", l, total: m.failed)
            metrics.gauge("kumo_service_in_flight", "Requests in flight at the replicas.", l, Double(m.inFlight))
            metrics.gauge("kumo_service_requests_per_second", "Front-port request rate over the last second.", l, m.requestsPerSecond)
        }
        for (address, rule) in await ruleDetails() {
            let r = [("rule", String(address.dropFirst(5)))]
            metrics.counter("kumo_rule_matched_total", "Events the rule matched or its schedule fired.", r, total: rule.matched)
            metrics.counter("kumo_rule_delivered_total", "Deliveries to the rule's targets that succeeded.", r, total: rule.delivered)
            metrics.gauge("kumo_rule_retrying", "Deliveries waiting for a retry.", r, Double(rule.retrying))
            metrics.gauge("kumo_rule_dead_lettered", "Deliveries in the dead-letter queue.", r, Double(rule.deadLettered))
        }
        return metrics.exposition()
    }
}
