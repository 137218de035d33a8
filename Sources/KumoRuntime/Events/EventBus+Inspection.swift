import Foundation
import KumoEvents
import KumoManifest
import KumoPlan

extension EventBus {
    // MARK: What `kumo events` and `kumo status` read

    func list(limit: Int, rule: String?) throws -> ControlAPI.Events.List {
        let events = try store.events(limit: limit, rule: rule.map(EventBus.key(forRule:)))
        return ControlAPI.Events.List(events: events.map { event, deliveries in
            let json = try? JSON.parse(event.body)
            return ControlAPI.Events.Event(
                id: event.id, receivedAt: WallClock.iso8601(EventBus.date(event.receivedMilliseconds)), origin: event.origin.rawValue,
                source: json?["source"]?.stringValue ?? "", detailType: json?["detail-type"]?.stringValue ?? "",
                matched: event.matched, deliveries: deliveries.map { EventBus.document($0, withInput: false) },
                event: String(decoding: event.body, as: UTF8.self))
        })
    }

    func deadLetters(rule: String?) throws -> ControlAPI.Events.DeadLetters {
        ControlAPI.Events.DeadLetters(deliveries: try store.deadLetters(rule: rule.map(EventBus.key(forRule:))).map { EventBus.document($0, withInput: true) })
    }

    /// Puts dead letters back in line with a fresh retry budget.
    func redrive(rule: String?) throws -> ControlAPI.Events.ActionResult {
        let count = try store.redrive(rule: rule.map(EventBus.key(forRule:)), now: WallClock.milliseconds())
        if count > 0 {
            logs.write("runtime", tag: "events", "redrive: \(count) dead letter\(count == 1 ? "" : "s")\(rule.map { " of \($0)" } ?? "") back in line")
            dispatcherWakeup.signal()
        }
        return ControlAPI.Events.ActionResult(events: count, deliveries: count)
    }

    /// Sends the archived events received in [from, to] through today's rules again (only
    /// `rule` when given), each with a `replay-name`, as EventBridge's replays do.
    func replay(from: Date, to: Date, rule: String?) throws -> ControlAPI.Events.ActionResult {
        guard from <= to else { throw RuntimeError("the replay's start \(WallClock.iso8601(from)) is after its end \(WallClock.iso8601(to))") }
        if let rule, rules[EventBus.name(ofRule: rule)] == nil { throw RuntimeError("no rule named \(EventBus.name(ofRule: rule))") }
        let name = "kumo-replay-\(WallClock.milliseconds())"
        let matcher = compiledMatcherForReplay(rule: rule.map(EventBus.name(ofRule:)))
        var records: [EventStore.NewEvent] = []
        var deliveries = 0
        let now = Date()
        for archived in try store.archived(from: EventBus.milliseconds(from), to: EventBus.milliseconds(to)) {
            guard case .object(var pairs)? = try? JSON.parse(archived.body) else { continue }
            pairs.removeAll { $0.key == "replay-name" }
            pairs.append((key: "replay-name", value: .string(name)))
            let event = JSON.object(pairs)
            let matched = matcher.rules(matching: event)
            guard !matched.isEmpty else { continue }
            let record = newEvent(event, id: archived.id, origin: .replay, at: now, rules: matched)
            deliveries += record.deliveries.count
            records.append(record)
        }
        if !records.isEmpty {
            try store.insert(records)
            dispatcherWakeup.signal()
        }
        logs.write("runtime", tag: "events", "replay \(name): \(records.count) events from \(WallClock.iso8601(from)) to \(WallClock.iso8601(to)), \(deliveries) deliveries")
        return ControlAPI.Events.ActionResult(events: records.count, deliveries: deliveries, eventIDs: records.map(\.id), replayName: name)
    }

    /// Runs a rule's schedule (or a function's schedule triggers) now.
    func fireNow(_ reference: String) throws -> ControlAPI.Events.ActionResult {
        let names = timerNames(for: reference)
        guard !names.isEmpty else {
            throw RuntimeError("\(reference) has no schedule to fire (name a rule with an enabled 'schedule', or a function with schedule events)")
        }
        let ids = names.compactMap { fire(name: $0) }
        return ControlAPI.Events.ActionResult(events: ids.count, deliveries: ids.count, eventIDs: ids)
    }

    /// Each rule's counts and schedule, for `kumo status`.
    func ruleDetails() -> [String: ControlAPI.Status.RuleDetail] {
        let counts = (try? store.counts()) ?? [:]
        var result: [String: ControlAPI.Status.RuleDetail] = [:]
        for (name, rule) in rules {
            let key = "rule.\(name)"
            let c = counts[key] ?? EventStore.Counts()
            result[key] = ControlAPI.Status.RuleDetail(
                enabled: rule.enabled, matched: c.matched, delivered: c.delivered, pending: c.pending, retrying: c.retrying,
                deadLettered: c.dead, dropped: c.dropped, schedule: rule.schedule?.expression,
                nextFire: timers[key]?.next.map { WallClock.iso8601($0) }, lastError: nil)
        }
        return result
    }

    // MARK: Helpers

    /// `NAME`, `rule.NAME` or `function.NAME#i` → what deliveries are filed under.
    static func key(forRule reference: String) -> String {
        reference.hasPrefix("rule.") || reference.hasPrefix("function.") ? reference : "rule.\(reference)"
    }

    static func name(ofRule reference: String) -> String {
        reference.hasPrefix("rule.") ? String(reference.dropFirst(5)) : reference
    }

    static func document(_ d: EventStore.Delivery, withInput: Bool) -> ControlAPI.Events.Delivery {
        let status: String
        switch d.status {
        case .pending: status = d.attempts > 0 ? "retrying" : "pending"
        case .delivered: status = "delivered"
        case .dead: status = "dead-lettered"
        case .dropped: status = "dropped"
        }
        return ControlAPI.Events.Delivery(
            id: d.id, eventID: d.eventID, rule: d.rule, target: d.target, path: d.path, status: status, attempts: d.attempts,
            createdAt: WallClock.iso8601(date(d.createdMilliseconds)), lastAttemptAt: d.lastMilliseconds.map { WallClock.iso8601(date($0)) },
            nextAttemptAt: d.status == .pending ? WallClock.iso8601(date(d.nextMilliseconds)) : nil,
            errorCode: d.errorCode, errorMessage: d.errorMessage, input: withInput ? String(decoding: d.input, as: UTF8.self) : nil)
    }
}
