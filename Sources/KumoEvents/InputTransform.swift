import Foundation

/// What a rule target receives: the event, a constant, a part of the event, or a template
/// filled from the event (EventBridge's `Input`, `InputPath`, `InputTransformer`).
///
/// Delivery rules (AWS user guide, "Amazon EventBridge input transformation"):
/// - `.event`: the event as compact JSON. `.constant`: the text as written (it must be JSON).
///   `.path`: the value at the JSONPath as compact JSON; a path the event lacks delivers an
///   empty body.
/// - `.template` that is JSON (see ``InputTemplate``): a placeholder outside quotes becomes the
///   value as JSON (strings quoted); inside quotes its text (a string unquoted and escaped for
///   the string, a number, `true`, `false` or `null` as written). An object or array inside
///   quotes, or a value missing where the JSON needs one (outside quotes), makes the event
///   undeliverable. A missing value inside quotes, or in a plain-text template, is left out
///   ("that variable isn't created and won't appear in the output").
/// - A plain-text template is delivered as written, values inserted as raw text.
/// - `<aws.events.event>` (the event without `detail`) and `<aws.events.event.json>` (the whole
///   event) are only allowed as a JSON value, outside quotes, since they are not escaped.
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

    /// Placeholders EventBridge fills without an `inputPathsMap` entry.
    public static let reservedPlaceholders = ["aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time", "aws.events.event", "aws.events.event.json"]
    /// The reserved placeholders that insert JSON unescaped: only a JSON value may hold them.
    static let unescapedPlaceholders: Set = ["aws.events.event", "aws.events.event.json"]
    /// AWS limits: inputPathsMap entries, and the length of an input template or constant.
    public static let maximumPathsMapEntries = 100
    public static let maximumLength = 8192

    /// Checks the parts (JSON of a constant, JSONPath syntax, placeholders of the template);
    /// the error names the offending part.
    public func check() throws(TransformError) {
        switch self {
        case .event:
            return
        case .constant(let text):
            try Self.checkLength(text, "input")
            guard (try? JSON.parse(text)) != nil else { throw TransformError("expected a JSON text, got '\(text.prefix(60))'") }
        case .path(let path):
            try Self.checkPath(path)
        case .template(let map, let template):
            guard map.count <= Self.maximumPathsMapEntries else {
                throw TransformError("at most \(Self.maximumPathsMapEntries) entries in inputPathsMap, got \(map.count)")
            }
            for (name, path) in map.sorted(by: { $0.key < $1.key }) {
                try Self.checkName(name)
                do { try Self.checkPath(path) } catch { throw TransformError("'\(name)': \(error.message)") }
            }
            try Self.checkLength(template, "inputTemplate")
            let parsed = InputTemplate(template)
            for (name, quoted) in parsed.placeholders {
                guard map[name] != nil || Self.reservedPlaceholders.contains(name) else {
                    throw TransformError("placeholder '<\(name)>' is not defined in inputPathsMap")
                }
                if Self.unescapedPlaceholders.contains(name), quoted || !parsed.isJSON {
                    throw TransformError("placeholder '<\(name)>' can only be a value in a JSON template, outside quotes")
                }
            }
        }
    }

    /// A placeholder name: letters, digits, `_`, `-` and `.`, not starting with `aws.`.
    public static func checkName(_ name: String) throws(TransformError) {
        guard !name.isEmpty, name.utf8.allSatisfy(InputTemplate.isNameByte), !name.hasPrefix("aws.") else {
            throw TransformError("'\(name)' is not a valid placeholder name (letters, digits, '_', '-', '.', not starting with 'aws.')")
        }
    }

    public static func checkPath(_ path: String) throws(TransformError) {
        _ = try JSONPath(parsing: path)
    }

    /// The `<name>` placeholders of a template, in order.
    public static func placeholders(in template: String) -> [String] {
        InputTemplate(template).placeholders.map(\.name)
    }

    static func checkLength(_ text: String, _ what: String) throws(TransformError) {
        guard text.utf8.count <= maximumLength else {
            throw TransformError("'\(what)' is \(text.utf8.count) bytes long; EventBridge takes at most \(maximumLength)")
        }
    }

    /// The exact body the target receives (UTF-8).
    public func apply(to event: JSON, context: Context) throws(TransformError) -> [UInt8] {
        switch self {
        case .event:
            return event.compactBytes
        case .constant(let text):
            return Array(text.utf8)
        case .path(let path):
            return try JSONPath(parsing: path).value(in: event).map(\.compactBytes) ?? []
        case .template(let map, let template):
            return try Self.fill(InputTemplate(template), map: map, event: event, context: context)
        }
    }

    static func fill(_ template: InputTemplate, map: [String: String], event: JSON, context: Context) throws(TransformError) -> [UInt8] {
        var out: [UInt8] = []
        for part in template.parts {
            guard case .placeholder(let name, let quoted) = part else {
                if case .text(let text) = part { out += text.utf8 }
                continue
            }
            let value = try Self.value(of: name, map: map, event: event, context: context)
            switch (value, template.isJSON, quoted) {
            case (nil, true, false):
                throw TransformError("placeholder '<\(name)>' has no value: \(map[name] ?? name) is not in the event, and the JSON template needs a value there")
            case (nil, _, _):
                continue
            case (.string(let s)?, false, _):
                out += s.utf8
            case (let v?, false, _), (let v?, true, false):
                v.write(to: &out)
            case (.string(let s)?, true, true):
                JSON.writeEscaped(s, to: &out)
            case (.number(_, let text)?, true, true):
                out += text.utf8
            case (.bool(let b)?, true, true):
                out += (b ? "true" : "false").utf8
            case (.null?, true, true):
                out += "null".utf8
            case (.array?, true, true), (.object?, true, true):
                throw TransformError("placeholder '<\(name)>' is an object or array inside a JSON string: EventBridge cannot deliver the event (put the placeholder outside quotes)")
            }
        }
        return out
    }

    static func value(of name: String, map: [String: String], event: JSON, context: Context) throws(TransformError) -> JSON? {
        switch name {
        case "aws.events.rule-name": return .string(context.ruleName)
        case "aws.events.rule-arn": return .string(context.ruleARN)
        case "aws.events.event.ingestion-time": return .string(Timestamp.iso8601(context.ingestionTime))
        case "aws.events.event.json": return event
        case "aws.events.event":
            guard case .object(let pairs) = event else { return event }
            return .object(pairs.filter { $0.key != "detail" })
        default:
            guard let path = map[name] else { throw TransformError("placeholder '<\(name)>' is not defined in inputPathsMap") }
            return try JSONPath(parsing: path).value(in: event)
        }
    }
}

/// A transformer that cannot be checked, or an event it cannot deliver (the reason).
public struct TransformError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
