import Foundation
import KumoManifest
import KumoPlan

/// Where the state lives: `--state PATH`, else `KUMO_STATE`, else `.kumo/state.db` in the
/// project directory.
public enum StateLocation {
    public static let environmentVariable = "KUMO_STATE"

    public static func resolve(explicit: String?, environment: [String: String], projectDirectory: String) -> String {
        if let explicit, !explicit.isEmpty { return absolute(explicit) }
        if let value = environment[environmentVariable], !value.isEmpty { return absolute(value) }
        return absolute(projectDirectory) + "/.kumo/state.db"
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let cwd = FileManager.default.currentDirectoryPath
        return path == "." ? cwd : cwd + "/" + path
    }
}

/// Plans a loaded project against a state file: the steps `kumo plan`, `kumo diff` and
/// `kumo apply` share.
public struct Planning {
    public var statePath: String
    public var options: Planner.Options

    public init(statePath: String, options: Planner.Options) {
        self.statePath = statePath
        self.options = options
    }

    public struct Result: Sendable {
        public var plan: Plan
        public var desired: DesiredState
        public var current: StateSnapshot
    }

    /// Plans against the state file; `adjust` may change the snapshot first (`--refresh`).
    public func plan(project: Project, environment: [String: String], adjust: ((inout StateSnapshot) -> Void)? = nil) throws -> Result {
        let clock = ContinuousClock()
        var mark = clock.now
        func phase(_ name: String) {
            if environment["KUMO_PLAN_TIMINGS"] != nil { FileHandle.standardError.write(Data("\(name): \(clock.now - mark)\n".utf8)) }
            mark = clock.now
        }
        let hasher = CodeHasher()
        let desired = try DesiredState(project: project, environment: environment) { path in try hasher.hash(directory: path) }
        phase("desired")
        let store = try StateStore.open(path: statePath, create: false)
        // A stored spec with the desired spec's hash is that spec: no need to decode it.
        var known: [String: DesiredResource] = [:]
        known.reserveCapacity(desired.resources.count)
        for resource in desired.resources { known[resource.address] = resource }
        let lookup = known
        var current = try store?.snapshot { address, hash in
            guard let resource = lookup[address], resource.specHash == hash else { return nil }
            return resource.spec
        } ?? .empty
        phase("state")
        adjust?(&current)
        var options = self.options
        if let calibrated = try store?.calibration(), !calibrated.isEmpty {
            options.calibrated = Calibration.merge(desired.estimates, calibrated: calibrated)
        }
        let plan = try Planner(options: options).plan(desired: desired, current: current)
        phase("plan")
        return Result(plan: plan, desired: desired, current: current)
    }
}
