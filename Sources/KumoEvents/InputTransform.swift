import Foundation

/// What a rule target receives: the event, a constant, a part of the event, or a template
/// filled from the event (EventBridge's `Input`, `InputPath`, `InputTransformer`).
public enum InputTransform: Sendable, Equatable {
    case event
    case constant(String)
    case path(String)
    case template(pathsMap: [String: String], template: String)

    /// The rule, and when EventBridge received the event, for the reserved placeholders.
    public struct Context: Sendable, Equatable {
        public var ruleName: String
        public var ruleARN: String
        public var ingestionTime: Date

        public init(ruleName: String, ruleARN: String, ingestionTime: Date) {
            self.ruleName = ruleName
            self.ruleARN = ruleARN
            self.ingestionTime = ingestionTime
        }
    }

    /// Checks the parts (JSON of a constant, JSONPath syntax, placeholders of the template);
    /// the error names the offending part.
    public func check() throws(TransformError) {
        fatalError("KumoEvents: InputTransform.check is not implemented yet")
    }

    /// The exact body the target receives (UTF-8).
    public func apply(to event: JSON, context: Context) throws(TransformError) -> [UInt8] {
        fatalError("KumoEvents: InputTransform.apply is not implemented yet")
    }
}

/// A transformer that cannot be checked, or an event it cannot deliver (the reason).
public struct TransformError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
