import KumoManifest

/// What the runtime does for one action, in the units the time model charges: the estimator
/// prices it, the executor records it with the action's timing, and `kumo calibrate` fits the
/// coefficients against it. One place decides it for both.
///
/// - A function registers (routes, pool) and starts its `minInstances` warm workers at once (an
///   `exec` function keeps none); an update or replacement starts the new revision's workers
///   and stops the old ones; a delete stops them.
/// - A service registers (front port) and starts its replicas one at a time, each up to its first
///   successful probe; a rolling update starts a new replica and drains an old one, one pair at
///   a time; a scale in place starts or drains the difference; a delete drains every replica.
/// - Rules and scaling policies only register.
public struct Work: Sendable, Equatable {
    /// Resources registered (created, updated, or replaced) and removed (deleted, or replaced).
    public var registrations: Int
    public var removals: Int
    /// Processes started: warm workers or replicas.
    public var starts: Int
    /// Processes stopped: workers, or replicas drained.
    public var stops: Int

    public init(registrations: Int = 0, removals: Int = 0, starts: Int = 0, stops: Int = 0) {
        self.registrations = registrations
        self.removals = removals
        self.starts = starts
        self.stops = stops
    }

    public static let none = Work()

    /// A recorded action's work: its registrations and removals follow from the action
    /// (`create`, `update`, `replace` or `delete`).
    public init(action: String, starts: Int, stops: Int) {
        let action = PlanAction(rawValue: action)
        self.init(registrations: action == .delete || action == .noop ? 0 : 1, removals: action == .delete || action == .replace ? 1 : 0,
                  starts: starts, stops: stops)
    }

    /// The work of `action` taking a resource from `before` (the state's spec) to `after` (the
    /// manifest's). A side the action does not need may be nil.
    public init(action: PlanAction, update: UpdateStrategy?, before: ResourceSpec?, after: ResourceSpec?) {
        let old = Work.processes(before), new = Work.processes(after)
        switch action {
        case .noop:
            self = .none
        case .create:
            self.init(registrations: 1, starts: new)
        case .delete:
            self.init(removals: 1, stops: old)
        case .replace:
            self.init(registrations: 1, removals: 1, starts: new, stops: old)
        case .update:
            if case .service? = after, update == .scale {
                self.init(registrations: 1, starts: max(0, new - old), stops: max(0, old - new))
            } else if case .service? = after {
                // One new replica per old one, then the rest of the new count; surplus drained.
                self.init(registrations: 1, starts: max(old, new), stops: old + max(0, old - new))
            } else {
                self.init(registrations: 1, starts: new, stops: old)
            }
        }
    }

    /// The work of `change`, from the manifest's spec and the state's record. The record is
    /// decoded only where its processes count: a function's or service's update, replacement
    /// or delete (most records are compared by hash and never decoded).
    public init(_ change: ResourceChange, after: ResourceSpec?, previous: ResourceRecord?) {
        var before: ResourceSpec?
        if change.action != .create, change.kind == .function || change.kind == .service {
            before = try? previous?.decodedSpec()
        }
        self.init(action: change.action, update: change.update, before: before, after: after)
    }

    /// The processes a spec keeps running after an apply.
    static func processes(_ spec: ResourceSpec?) -> Int {
        switch spec {
        case .function(let function)?: function.runtime == .exec ? 0 : function.minInstances
        case .service(let service)?: service.replicas
        case .scaling?, .rule?, nil: 0
        }
    }
}
