import Foundation
import KumoEvents
import KumoManifest

extension EventBus {
    // MARK: Schedules

    /// Starts (or keeps) a timer. A rate is anchored where the store first saw the schedule, so a
    /// restart keeps its rhythm; the first fire is the first one after now: a firing missed
    /// while the runtime was down is not made up.
    func addTimer(name: String, schedule: Schedule) {
        let now = Date()
        let created: Date
        do {
            created = EventBus.date(try store.scheduleAnchor(name: name, expression: schedule.expression, now: EventBus.milliseconds(now)).created)
        } catch {
            logs.write("runtime", tag: "events", "cannot read the anchor of \(name)'s schedule: \(error); counting from now")
            created = now
        }
        if let existing = timers[name], existing.schedule == schedule, existing.created == created { return }
        timers[name] = Timer(name: name, schedule: schedule, created: created, next: schedule.next(after: now, created: created))
        schedulerWakeup.signal()
    }

    /// `forget`: the schedule is gone (not only disabled), so its anchor goes too.
    func removeTimer(name: String, forget: Bool) {
        timers[name] = nil
        if forget { try? store.forgetSchedule(name: name) }
        schedulerWakeup.signal()
    }

    /// Fires each timer when its time comes, until the bus stops.
    func runSchedules() async {
        while running && !Task.isCancelled {
            let now = Date()
            for (name, timer) in timers {
                guard let next = timer.next, next <= now else { continue }
                fire(name: name, at: next)
                timers[name]?.next = timer.schedule.next(after: max(now, next), created: timer.created)
            }
            let soonest = timers.values.compactMap(\.next).min()
            let wait = soonest.map { max(0, min($0.timeIntervalSince(Date()), 60)) } ?? 60
            if wait > 0 { await schedulerWakeup.wait(timeout: .milliseconds(Int64((wait * 1000).rounded(.up)))) }
        }
    }

    /// The targets a timer fires: a rule's, or the function of a schedule trigger (which gets
    /// the scheduled event itself, as a SAM `Schedule` event delivers it).
    private func scheduledFanout(_ name: String) -> Fanout? {
        if name.hasPrefix("rule.") { return rules[String(name.dropFirst(5))].map(Fanout.init) }
        guard name.hasPrefix("function."), let hash = name.lastIndex(of: "#"), let index = Int(name[name.index(after: hash)...]) else { return nil }
        return Fanout(function: String(name[name.index(name.startIndex, offsetBy: 9)..<hash]), trigger: index)
    }

    /// Fires a timer now: one scheduled event, delivered like any other. Returns its id.
    @discardableResult
    func fire(name: String, at date: Date = Date()) -> String? {
        guard let fanout = scheduledFanout(name) else { return nil }
        let id = UUID().uuidString.lowercased()
        let event = PutEventsEntry.scheduledEvent(id: id, ruleARN: ruleARNPrefix + fanout.ruleName, account: options.account, region: options.region, at: date)
        let record = newEvent(event, id: id, origin: .schedule, at: date, rules: [fanout])
        do {
            try store.insert([record])
            try store.scheduleFired(name: name, at: EventBus.milliseconds(date))
        } catch {
            logs.write(name, tag: id, "cannot record the scheduled event: \(error)")
            return nil
        }
        logs.write(name, tag: id, "schedule fired: \(record.deliveries.count) deliver\(record.deliveries.count == 1 ? "y" : "ies")")
        dispatcherWakeup.signal()
        return id
    }

    /// The timers a name fires: `rule.NAME` (or `NAME`) for a rule's schedule, `function.NAME`
    /// for all of a function's schedule triggers.
    func timerNames(for reference: String) -> [String] {
        if timers[reference] != nil { return [reference] }
        if timers["rule.\(reference)"] != nil { return ["rule.\(reference)"] }
        let prefix = (reference.hasPrefix("function.") ? reference : "function.\(reference)") + "#"
        return timers.keys.filter { $0.hasPrefix(prefix) }.sorted()
    }
}
