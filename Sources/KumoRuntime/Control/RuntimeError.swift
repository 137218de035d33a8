/// A runtime operation that failed, with a message for people (the control API returns it to
/// `kumo apply`, which prints it).
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
