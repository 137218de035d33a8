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

    public var parts: [Part] {
        get { storage ?? (literalValue.isEmpty ? [] : [.literal(literalValue)]) }
        set { self = Text(parts: newValue) }
    }

    /// A plain literal (the common case) needs no array; `storage` holds anything else.
    private var literalValue: String
    private var storage: [Part]?

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
        if merged.isEmpty {
            literalValue = ""
            storage = nil
        } else if merged.count == 1, case .literal(let s) = merged[0] {
            literalValue = s
            storage = nil
        } else {
            literalValue = ""
            storage = merged
        }
    }

    public init(_ literal: String) {
        self.literalValue = literal
        self.storage = nil
    }

    public var isSensitive: Bool {
        guard let storage else { return false }
        return storage.contains { if case .secret = $0 { return true } else { return false } }
    }

    public var secretNames: [String] {
        parts.compactMap { if case .secret(let name) = $0 { return name } else { return nil } }
    }

    /// The value as a manifest would write it: `${` escaped, secrets and port as references.
    public var manifestText: String {
        if storage == nil { return Text.escaped(literalValue) }
        var result = ""
        for part in parts {
            switch part {
            case .literal(let s): result += Text.escaped(s)
            case .secret(let name): result += "${secret:\(name)}"
            case .port: result += "${port}"
            }
        }
        return result
    }

    /// Literal text as a manifest writes it: `${` becomes `$${`.
    public static func escaped(_ literal: String) -> String {
        guard literal.utf8.contains(UInt8(ascii: "$")) else { return literal }
        return literal.replacing("${", with: "$${")
    }

    /// The literal text when there are no secrets or placeholders.
    public var literal: String? {
        storage == nil ? literalValue : nil
    }

    /// Text for people: secrets shown as `(sensitive)`.
    public var description: String {
        isSensitive ? "(sensitive)" : manifestText
    }

    /// The real value, given the secrets and the replica's port: the last stage of
    /// interpolation, when the runtime starts a process. A `${port}` without a port stays as
    /// written (it is only allowed where the runtime has one).
    public func resolved(secrets: [String: String], port: Int? = nil) throws(MissingSecret) -> String {
        if storage == nil { return literalValue }
        var result = ""
        for part in parts {
            switch part {
            case .literal(let s): result += s
            case .secret(let name):
                guard let value = secrets[name] else { throw MissingSecret(name: name) }
                result += value
            case .port: result += port.map(String.init) ?? "${port}"
            }
        }
        return result
    }
}
