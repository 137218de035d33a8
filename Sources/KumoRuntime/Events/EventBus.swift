import Foundation
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import KumoEvents
import KumoManifest

/// The runtime's event bus: rules match events put on it (or fire on their schedules), every
/// matching rule target gets a durable delivery record, and a dispatcher delivers them —
/// functions invoked asynchronously, services sent an HTTP POST — retrying with back-off until
/// the rule's retry policy runs out, then keeping the delivery in the dead-letter queue.
///
/// The event language (patterns, transformers, schedules) is `KumoEvents`'; this actor hosts it.
actor EventBus {
    struct Options: Sendable {
        var region: String
        var account = "000000000000"
        /// How long accepted events are archived for replay.
        var retention = Duration.hours(24)
        /// The first retry waits about this long; each further one twice as long, up to `retryCap`.
        var retryBase = Duration(milliseconds: 500)
        var retryCap = Duration.seconds(60)
        /// Deliveries under way at once.
        var maximumInFlight = 256
        /// A service target's POST gives up after this long.
        var serviceTimeout = Duration.seconds(30)
    }

    /// Where a rule (or a function's schedule trigger) sends what it matches, ready to deliver.
    struct Fanout: Sendable {
        struct Target: Sendable {
            var address: String
            var path: String?
            var transform: InputTransform
        }

        /// The rule's name as AWS names it (in its ARN and the transformer's placeholders).
        var ruleName: String
        /// What its deliveries are filed under: `rule.NAME`, or `function.NAME#i`.
        var key: String
        var targets: [Target]
        var maximumRetryAttempts: Int
        var maximumEventAgeMilliseconds: Int64
        var deadLetter: Bool

        init(_ rule: Rule) {
            ruleName = rule.name
            key = "rule.\(rule.name)"
            targets = rule.targets.map { Target(address: $0.address, path: $0.path, transform: $0.transform) }
            maximumRetryAttempts = rule.retryPolicy.maximumRetryAttempts
            maximumEventAgeMilliseconds = rule.retryPolicy.maximumEventAge.milliseconds
            deadLetter = rule.deadLetter
        }

        /// A function's schedule trigger: the scheduled event itself, with EventBridge's default retries.
        init(function: String, trigger index: Int) {
            ruleName = "kumo-\(function)-schedule-\(index)"
            key = EventBus.triggerName(function, index)
            targets = [Target(address: "function.\(function)", path: nil, transform: .event)]
            maximumRetryAttempts = Rule.RetryPolicy.default.maximumRetryAttempts
            maximumEventAgeMilliseconds = Rule.RetryPolicy.default.maximumEventAge.milliseconds
            deadLetter = false
        }
    }

    /// Enabled pattern rules compiled into one matcher, with where each sends what it matches.
    struct RuleMatcher: Sendable {
        let matcher: Matcher
        let fanouts: [Fanout]

        init(_ rules: [Rule]) {
            let compiled = rules.compactMap { rule in rule.pattern.map { (rule, $0) } }
            fanouts = compiled.map { Fanout($0.0) }
            matcher = Matcher(compiled.enumerated().map { (id: $0.offset, pattern: $0.element.1) })
        }

        func rules(matching event: JSON) -> [Fanout] { matcher.matches(event).map { fanouts[$0] } }
    }

    /// A scheduled source of events: a rule's `schedule`, or a function's schedule trigger.
    struct Timer: Sendable {
        var name: String
        var schedule: Schedule
        var created: Date
        var next: Date?
    }

    let options: Options
    let store: EventStore
    let logs: LogBook
    let directory: FunctionDirectory
    let http: HTTPClient

    var rules: [String: Rule] = [:]
    private var matcher: RuleMatcher?
    var invokeConfigs: [String: InvokeConfig] = [:]
    var functionSchedules: [String: [Schedule]] = [:]
    var servicePorts: [String: Int] = [:]
    var timers: [String: Timer] = [:]

    var inFlight = Set<Int64>()
    let dispatcherWakeup = Wakeup()
    let schedulerWakeup = Wakeup()
    private var tasks: [Task<Void, Never>] = []
    var running = false

    init(store: EventStore, options: Options, logs: LogBook, directory: FunctionDirectory) {
        self.store = store
        self.options = options
        self.logs = logs
        self.directory = directory
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .milliseconds(options.serviceTimeout.milliseconds))
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    var ruleARNPrefix: String { "arn:aws:events:\(options.region):\(options.account):rule/" }

    // MARK: Starting and stopping

    /// Starts delivering (every unfinished delivery the store holds, first) and firing schedules.
    func start() {
        guard !running else { return }
        running = true
        let purgeEvery = Swift.Duration.seconds(600)
        tasks = [
            Task { await self.dispatch() },
            Task { await self.runSchedules() },
            Task {
                while !Task.isCancelled {
                    await self.purge()
                    try? await Task.sleep(for: purgeEvery)
                }
            },
        ]
    }

    func stop() async {
        running = false
        for task in tasks { task.cancel() }
        dispatcherWakeup.signal()
        schedulerWakeup.signal()
        for task in tasks { await task.value }
        tasks = []
        try? await http.shutdown()
    }

    private func purge() {
        let before = WallClock.milliseconds() - options.retention.milliseconds
        if let removed = try? store.purge(before: before), removed > 0 {
            logs.write("runtime", tag: "events", "archive: removed \(removed) events older than the retention of \(options.retention)")
        }
    }

    // MARK: Registration

    func setRule(_ rule: Rule) {
        rules[rule.name] = rule
        matcher = nil
        let name = "rule.\(rule.name)"
        if let schedule = rule.schedule, rule.enabled {
            addTimer(name: name, schedule: schedule)
        } else {
            removeTimer(name: name, forget: rule.schedule == nil)
        }
    }

    func removeRule(_ name: String) {
        rules[name] = nil
        matcher = nil
        removeTimer(name: "rule.\(name)", forget: true)
    }

    func setFunction(_ function: Function) {
        invokeConfigs[function.name] = function.invokeConfig
        let schedules = function.events.compactMap { event -> Schedule? in
            if case .schedule(let s) = event { return s }
            return nil
        }
        let old = functionSchedules[function.name] ?? []
        for i in schedules.count..<max(old.count, schedules.count) { removeTimer(name: EventBus.triggerName(function.name, i), forget: true) }
        functionSchedules[function.name] = schedules
        for (i, schedule) in schedules.enumerated() { addTimer(name: EventBus.triggerName(function.name, i), schedule: schedule) }
    }

    func removeFunction(_ name: String) {
        for i in (functionSchedules[name] ?? []).indices { removeTimer(name: EventBus.triggerName(name, i), forget: true) }
        functionSchedules[name] = nil
        invokeConfigs[name] = nil
    }

    func setService(_ name: String, port: Int?) {
        servicePorts[name] = port
    }

    /// `function.NAME#0`: the first schedule trigger of a function.
    static func triggerName(_ function: String, _ index: Int) -> String { "function.\(function)#\(index)" }

    var registeredRules: [Rule] { rules.values.sorted { $0.name < $1.name } }

    /// The enabled rules with a pattern (only `name` when given), in name order: what events match.
    private func matchingRules(only name: String? = nil) -> [Rule] {
        rules.values.filter { $0.enabled && $0.pattern != nil && (name == nil || $0.name == name) }.sorted { $0.name < $1.name }
    }

    // MARK: Putting events

    /// Accepts the entries EventBridge would accept, writes each with its deliveries before
    /// answering, and answers per entry: the event id, or why it was refused.
    func put(_ entries: [PutEventsEntry]) throws -> [Result<String, EntryError>] {
        let now = Date()
        let matcher = compiledMatcher()
        var results: [Result<String, EntryError>] = []
        var accepted: [EventStore.NewEvent] = []
        for entry in entries {
            if let bus = entry.eventBusName, !bus.isEmpty, bus != "default", !bus.hasSuffix(":event-bus/default") {
                results.append(.failure(EntryError(code: "InvalidArgument", message: "Event bus \(bus) does not exist.")))
                continue
            }
            switch entry.check() {
            case .failure(let error):
                results.append(.failure(error))
            case .success(let detail):
                let id = UUID().uuidString.lowercased()
                let event = entry.event(id: id, detail: detail, account: options.account, region: options.region, receivedAt: now)
                let matched = matcher.rules(matching: event)
                accepted.append(newEvent(event, id: id, origin: .put, at: now, rules: matched))
                results.append(.success(id))
            }
        }
        if !accepted.isEmpty {
            try store.insert(accepted)
            dispatcherWakeup.signal()
        }
        return results
    }

    /// The enabled pattern rules (only `rule` when given) compiled for one replay.
    func compiledMatcherForReplay(rule: String?) -> RuleMatcher {
        RuleMatcher(matchingRules(only: rule))
    }

    /// An asynchronous invocation (the Lambda API's `Event` type): written before it is
    /// acknowledged, then delivered like a rule's function target — throttles retried until the
    /// function's `invokeConfig.maximumEventAge`, errors of the function until its
    /// `maximumRetryAttempts`, then the dead-letter queue (`onFailure: dlq`) or dropped.
    func invokeAsync(function: String, payload: [UInt8], requestID: String) throws {
        let config = invokeConfigs[function] ?? .default
        let key = "function.\(function)"
        let now = Date()
        let delivery = EventStore.NewDelivery(
            rule: key, target: key, targetIndex: 0, path: nil, input: payload, error: nil,
            maximumRetryAttempts: Rule.RetryPolicy.retryAttemptsRange.upperBound, maximumEventAgeMilliseconds: config.maximumEventAge.milliseconds,
            deadLetter: config.onFailure == .dlq)
        try store.insert([EventStore.NewEvent(id: requestID, receivedMilliseconds: EventBus.milliseconds(now), origin: .invoke, body: payload,
                                              matched: [key], deliveries: [delivery])])
        dispatcherWakeup.signal()
    }

    private func compiledMatcher() -> RuleMatcher {
        if let matcher { return matcher }
        let compiled = RuleMatcher(matchingRules())
        matcher = compiled
        return compiled
    }

    /// The event and one delivery per target of each rule, each with its transformed input.
    func newEvent(_ event: JSON, id: String, origin: EventStore.Origin, at date: Date, rules: [Fanout]) -> EventStore.NewEvent {
        var deliveries: [EventStore.NewDelivery] = []
        for rule in rules {
            let context = InputTransform.Context(ruleName: rule.ruleName, ruleARN: ruleARNPrefix + rule.ruleName, ingestionTime: date)
            for (index, target) in rule.targets.enumerated() {
                var input: [UInt8]?
                var error: (code: String, message: String)?
                do { input = try target.transform.apply(to: event, context: context) } catch let failure {
                    error = ("UNDELIVERABLE_INPUT", "the target's input cannot be built from this event: \(failure)")
                    logs.write(rule.key, tag: id, "undeliverable to \(target.address): \(failure)")
                }
                deliveries.append(EventStore.NewDelivery(
                    rule: rule.key, target: target.address, targetIndex: index, path: target.path, input: input, error: error,
                    maximumRetryAttempts: rule.maximumRetryAttempts, maximumEventAgeMilliseconds: rule.maximumEventAgeMilliseconds,
                    deadLetter: rule.deadLetter))
            }
        }
        return EventStore.NewEvent(id: id, receivedMilliseconds: EventBus.milliseconds(date), origin: origin, body: event.compactBytes,
                                   matched: rules.map(\.key), deliveries: deliveries)
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
}
