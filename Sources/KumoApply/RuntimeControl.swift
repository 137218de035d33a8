import Foundation
import KumoPlan

/// What an apply needs from a runtime: apply one resource, remove one, and what it holds. ``RuntimeClient``
/// (the control API over loopback) is the real one; tests may script one.
public protocol RuntimeControl: Sendable {
    func deploy(_ resource: DesiredResource, secrets: [String: String], update: UpdateStrategy?) async throws
    func remove(address: String) async throws
    /// What the runtime holds now.
    func status() async throws -> ControlAPI.Status
}

extension RuntimeClient: RuntimeControl {}

/// Elapsed time, for the timings an apply records; tests pass one they advance themselves.
public protocol Stopwatch: Sendable {
    /// Time since some fixed origin.
    func now() -> Swift.Duration
}

/// The monotonic clock.
public struct SystemStopwatch: Stopwatch {
    private let origin = ContinuousClock.now

    public init() {}

    public func now() -> Swift.Duration { ContinuousClock.now - origin }
}
