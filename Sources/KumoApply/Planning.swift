import Foundation
import KumoManifest
import KumoPlan
import KumoState

/// Plans a loaded project against a state file: the steps `kumo plan`, `kumo diff` and
/// `kumo apply` share.
public struct Planning {
    public var statePath: String
    public var options: Planner.Options
    /// A 0-byte state file is an empty state (`--force`) instead of an error.
    public var acceptEmptyStateFile: Bool
    /// Whether the coefficients `kumo calibrate` saved replace the manifest's and built-in ones.
    public var calibrated: Bool

    public init(statePath: String, options: Planner.Options, acceptEmptyStateFile: Bool = false, calibrated: Bool = true) {
        self.statePath = statePath
        self.options = options
        self.acceptEmptyStateFile = acceptEmptyStateFile
        self.calibrated = calibrated
    }

    public struct Result: Sendable {
        public var plan: Plan
        public var desired: DesiredState
        public var current: StateSnapshot
    }

    /// Plans against the state file.
    public func plan(project: Project, environment: [String: String]) throws -> Result {
        let clock = ContinuousClock()
        var mark = clock.now
        func phase(_ name: String) {
            if environment["KUMO_PLAN_TIMINGS"] != nil { FileHandle.standardError.write(Data("\(name): \(clock.now - mark)\n".utf8)) }
            mark = clock.now
        }
        let hasher = CodeHasher()
        let desired = try DesiredState(project: project, environment: environment) { path in try hasher.hash(directory: path) }
        phase("desired")
        let store = try StateLocation(statePath).open(create: false, acceptEmptyFile: acceptEmptyStateFile)
        // A stored spec with the desired spec's hash is that spec: no need to decode it.
        var known: [String: DesiredResource] = [:]
        known.reserveCapacity(desired.resources.count)
        for resource in desired.resources { known[resource.address] = resource }
        let lookup = known
        let current = try store?.snapshot { address, hash in
            guard let resource = lookup[address], resource.specHash == hash else { return nil }
            return resource.canonical
        } ?? .empty
        phase("state")
        var options = self.options
        if self.calibrated, let calibrated = try store?.calibration(), !calibrated.isEmpty {
            options.calibrated = Calibration.merge(desired.estimates, calibrated: calibrated)
        }
        let plan = try Planner(options: options).plan(desired: desired, current: current)
        phase("plan")
        return Result(plan: plan, desired: desired, current: current)
    }
}
