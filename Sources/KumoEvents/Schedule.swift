import Foundation

/// An AWS schedule expression: `rate(N unit)` or six-field `cron(min hour dom month dow year)`,
/// evaluated in UTC.
public struct Schedule: Sendable, Equatable {
    /// The expression as written.
    public let expression: String

    public init(parsing expression: String) throws(ScheduleError) {
        fatalError("KumoEvents: Schedule is not implemented yet")
    }

    /// The first fire time strictly after `date`. For `rate`, fires fall at `created` +
    /// k·interval (k ≥ 1); `cron` ignores `created`. Nil when the schedule never fires again
    /// (a year field that has ended).
    public func next(after date: Date, created: Date) -> Date? {
        fatalError("KumoEvents: Schedule.next is not implemented yet")
    }
}

public struct ScheduleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The cron field at fault (`minutes`, `hours`, `day-of-month`, `month`, `day-of-week`,
    /// `year`), nil for the expression as a whole.
    public var field: String?
    public var message: String

    public init(field: String?, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
