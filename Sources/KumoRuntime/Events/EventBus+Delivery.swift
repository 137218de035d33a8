import Foundation
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import KumoEvents
import KumoManifest

/// What one attempt at a delivery came to.
enum DeliveryAttempt: Sendable, Equatable {
    case delivered
    /// `retryable` false: trying again cannot help (a 4xx from a service other than 408 and
    /// 429). `functionError`: the function ran and failed, so its `invokeConfig` decides.
    case failed(code: String, message: String, retryable: Bool, functionError: Bool)
}

extension EventBus {
    // MARK: The dispatcher

    /// Delivers due records until the bus stops: at most `maximumInFlight` at once, each
    /// outcome written as soon as it is known.
    func dispatch() async {
        while running && !Task.isCancelled {
            let now = WallClock.milliseconds()
            let due: [EventStore.Delivery]
            do {
                due = try store.due(now: now, limit: options.maximumInFlight - inFlight.count, excluding: inFlight)
            } catch {
                logs.write("runtime", tag: "events", "cannot read pending deliveries: \(error)")
                await dispatcherWakeup.wait(timeout: .seconds(1))
                continue
            }
            for delivery in due {
                startDelivery(delivery)
            }
            var wait: Int64 = 1000
            if inFlight.count < options.maximumInFlight, let next = try? store.nextDue(excluding: inFlight) {
                wait = max(0, min(next - WallClock.milliseconds(), 1000))
            }
            if wait > 0 { await dispatcherWakeup.wait(timeout: .milliseconds(wait)) }
        }
    }

    /// Delivers one record in a task of its own and records the outcome.
    private func startDelivery(_ delivery: EventStore.Delivery) {
        inFlight.insert(delivery.id)
        let route = self.route(for: delivery)
        let http = self.http
        let timeout = options.serviceTimeout.duration
        Task {
            let attempt = await EventBus.attempt(delivery, route: route, http: http, timeout: timeout)
            await self.finished(delivery, attempt)
        }
    }

    /// Where a delivery goes, looked up when it is attempted: a function's pool or a service's port.
    enum Route: Sendable {
        case function(FunctionPool)
        case service(port: Int)
        case missing(String)
    }

    private func route(for delivery: EventStore.Delivery) -> Route {
        guard let (kind, name) = ResourceKind.parse(address: delivery.target) else { return .missing("bad target \(delivery.target)") }
        switch kind {
        case .function:
            guard let pool = directory.pool(name) else { return .missing("function \(name) is not deployed") }
            return .function(pool)
        case .service:
            guard let port = servicePorts[name] else { return .missing("service \(name) is not deployed or has no port") }
            return .service(port: port)
        case .scaling, .rule:
            return .missing("\(delivery.target) cannot receive events")
        }
    }

    static func attempt(_ delivery: EventStore.Delivery, route: Route, http: HTTPClient, timeout: Swift.Duration) async -> DeliveryAttempt {
        switch route {
        case .missing(let why):
            return .failed(code: "TARGET_UNAVAILABLE", message: why, retryable: true, functionError: false)
        case .function(let pool):
            switch await pool.invoke(delivery.input) {
            case .success:
                return .delivered
            case .throttled:
                return .failed(code: "THROTTLING", message: "the function is at its concurrency limit", retryable: true, functionError: false)
            case .functionError(let type, let payload):
                return .failed(code: "FUNCTION_ERROR", message: "\(type): \(FunctionPool.message(in: payload))", retryable: true, functionError: true)
            }
        case .service(let port):
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(delivery.path ?? "/")")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "kumo-events")
            request.headers.add(name: "X-Kumo-Event-Id", value: delivery.eventID)
            request.headers.add(name: "X-Kumo-Rule", value: delivery.rule)
            request.body = .bytes(ByteBuffer(bytes: delivery.input))
            do {
                let response = try await http.execute(request, timeout: .seconds(Int64(timeout.components.seconds)))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                let status = Int(response.status.code)
                if (200..<300).contains(status) { return .delivered }
                let retryable = status >= 500 || status == 408 || status == 429
                return .failed(code: "HTTP_\(status)", message: "the service answered \(status) \(response.status.reasonPhrase)", retryable: retryable, functionError: false)
            } catch {
                return .failed(code: "TARGET_UNAVAILABLE", message: "cannot reach the service on 127.0.0.1:\(port): \(error)", retryable: true, functionError: false)
            }
        }
    }

    /// Records an attempt: delivered; retried later with back-off; or, once the retry policy
    /// (the function's `invokeConfig` for errors of the function itself) is spent, kept in the
    /// dead-letter queue or dropped.
    private func finished(_ delivery: EventStore.Delivery, _ attempt: DeliveryAttempt) {
        inFlight.remove(delivery.id)
        // Attempts cut short by the runtime stopping (pools and connections closing) count for
        // nothing: the delivery stays pending and is made after the next start.
        guard running else { return }
        let now = WallClock.milliseconds()
        let attempts = delivery.attempts + 1
        var outcome = EventStore.Outcome(id: delivery.id, status: .delivered, attempts: attempts, functionErrors: delivery.functionErrors,
                                         lastMilliseconds: now, nextMilliseconds: now, errorCode: nil, errorMessage: nil)
        if case .failed(let code, let message, let retryable, let functionError) = attempt {
            outcome.errorCode = code
            outcome.errorMessage = message
            let age = now - delivery.createdMilliseconds
            var exhausted: String?
            var keep = delivery.deadLetter
            if !retryable {
                exhausted = "not retried: \(code)"
            } else if functionError {
                outcome.functionErrors += 1
                let function = ResourceKind.parse(address: delivery.target)?.name ?? ""
                let config = invokeConfigs[function] ?? InvokeConfig.default
                keep = config.onFailure == .dlq
                if outcome.functionErrors > config.maximumRetryAttempts {
                    exhausted = "the function's invokeConfig.maximumRetryAttempts (\(config.maximumRetryAttempts)) is spent"
                } else if age >= Int64(config.maximumEventAge.milliseconds) {
                    exhausted = "older than the function's invokeConfig.maximumEventAge (\(config.maximumEventAge))"
                }
            } else if attempts - outcome.functionErrors > delivery.maximumRetryAttempts {
                exhausted = "maximumRetryAttempts (\(delivery.maximumRetryAttempts)) is spent"
            } else if age >= delivery.maximumEventAgeMilliseconds {
                exhausted = "older than maximumEventAge (\(Duration(milliseconds: delivery.maximumEventAgeMilliseconds)))"
            }
            if let exhausted {
                outcome.status = keep ? .dead : .dropped
                outcome.errorMessage = "\(message) (after \(attempts) attempt\(attempts == 1 ? "" : "s"); \(exhausted))"
                logs.write(delivery.rule, tag: delivery.eventID,
                           "delivery to \(delivery.target) \(keep ? "dead-lettered" : "dropped"): \(code): \(outcome.errorMessage!)")
            } else {
                outcome.status = .pending
                outcome.nextMilliseconds = now + backoff(attempt: attempts)
            }
        }
        do { try store.record([outcome]) } catch {
            logs.write("runtime", tag: "events", "cannot record the delivery of \(delivery.eventID) to \(delivery.target): \(error)")
        }
        dispatcherWakeup.signal()
    }

    /// Exponential back-off with jitter: about base·2^(n−1), capped, drawn from its upper half.
    func backoff(attempt: Int) -> Int64 {
        let base = Double(options.retryBase.milliseconds)
        let cap = Double(options.retryCap.milliseconds)
        let delay = min(cap, base * pow(2, Double(min(attempt - 1, 30))))
        return Int64(Double.random(in: (delay / 2)...delay))
    }
}
