/// A string value after interpolation, keeping secrets and the `${port}` placeholder symbolic.
///
/// Literal parts are resolved text; a secret part names the secret, never its value, so a `Text`
/// can be printed, stored and compared without leaking anything.
public struct Text: Sendable, Hashable, CustomStringConvertible {
    public enum Part: Sendable, Hashable {
        case literal(String)
        case secret(String)
        /// The replica's own port, filled in by the runtime when it starts a process.
        case port
    }

    public var parts: [Part]

    public init(parts: [Part]) {
        var merged: [Part] = []
        for part in parts {
            if case .literal(let next) = part, case .literal(let previous)? = merged.last {
                merged[merged.count - 1] = .literal(previous + next)
            } else if case .literal(let s) = part, s.isEmpty {
                continue
            } else {
                merged.append(part)
            }
        }
        self.parts = merged
    }

    public init(_ literal: String) {
        self.parts = literal.isEmpty ? [] : [.literal(literal)]
    }

    public var isSensitive: Bool {
        parts.contains { if case .secret = $0 { return true } else { return false } }
    }

    public var secretNames: [String] {
        parts.compactMap { if case .secret(let name) = $0 { return name } else { return nil } }
    }

    /// The value as a manifest would write it: `${` escaped, secrets and port as references.
    public var manifestText: String {
        var result = ""
        for part in parts {
            switch part {
            case .literal(let s): result += s.replacing("${", with: "$${")
            case .secret(let name): result += "${secret:\(name)}"
            case .port: result += "${port}"
            }
        }
        return result
    }

    /// The literal text when there are no secrets or placeholders.
    public var literal: String? {
        if parts.isEmpty { return "" }
        if parts.count == 1, case .literal(let s) = parts[0] { return s }
        return nil
    }

    /// Text for people: secrets shown as `(sensitive)`.
    public var description: String {
        isSensitive ? "(sensitive)" : manifestText
    }

    /// The real value, given the secrets and the replica's port.
    public func resolved(secrets: [String: String], port: Int?) -> String {
        var result = ""
        for part in parts {
            switch part {
            case .literal(let s): result += s
            case .secret(let name): result += secrets[name] ?? ""
            case .port: result += port.map(String.init) ?? "${port}"
            }
        }
        return result
    }
}

