/// What `${…}` references are allowed in the value being read.
struct InterpolationAllowance: OptionSet {
    let rawValue: UInt8
    static let secret = InterpolationAllowance(rawValue: 1)
    static let port = InterpolationAllowance(rawValue: 2)
    static let service = InterpolationAllowance(rawValue: 4)
    static let values: InterpolationAllowance = [.service]
}

/// The environment interpolation draws on: variables, the process environment, service ports.
///
/// This is the one interpolation engine. The stage decides which references are filled now and
/// which stay symbolic in ``Text`` for a later stage: reading a manifest fills variables,
/// `${env:…}` and `${service:…}`; secrets and `${port}` stay references until the runtime
/// starts a process (``Text/resolved(secrets:port:)``). A stored (canonical) spec holds only
/// those two.
struct InterpolationContext: Sendable {
    enum Stage: Sendable {
        /// A manifest as the user wrote it.
        case manifest
        /// A canonical spec read back from the state, a saved plan or the control API.
        case stored
    }

    var stage = Stage.manifest
    var variables: [String: Text] = [:]
    var environment: [String: String] = [:]
    /// Service name → its front port (nil when the service declares none).
    var servicePorts: [String: Int?] = [:]
    /// Services whose `port` is present but invalid: that error is reported at the port itself.
    var servicesWithInvalidPort: Set<String> = []
    /// Variables that could not be resolved (a cycle, an error in their value): already reported.
    var brokenVariables: Set<String> = []
    var secretsRequired = false
}

extension Reader {
    /// Resolves `${var:…}`, `${env:…}`, `${secret:…}`, `${service:…}`, `${port}` and `$${`.
    mutating func interpolate(
        _ text: String, at node: NodeRef, _ path: @autoclosure () -> KeyPath, allow: InterpolationAllowance
    ) -> Text? {
        guard text.utf8.contains(UInt8(ascii: "$")) else { return Text(text) }
        var parts: [Text.Part] = []
        var literal = ""
        var rest = Substring(text)
        var ok = true
        while let dollar = rest.firstIndex(of: "$") {
            literal += rest[..<dollar]
            let after = rest[dollar...]
            if after.hasPrefix("$${") {
                literal += "${"
                rest = after.dropFirst(3)
                continue
            }
            guard after.hasPrefix("${") else {
                literal += "$"
                rest = after.dropFirst()
                continue
            }
            let body = after.dropFirst(2)
            guard let close = body.firstIndex(of: "}") else {
                error("bad-interpolation", "unterminated '${' in \(quoteValue(text)); write '$${' for a literal '${'", node, path())
                return nil
            }
            let reference = String(body[..<close])
            rest = body[body.index(after: close)...]
            guard let resolved = resolveReference(reference, at: node, path(), allow: allow) else {
                ok = false
                continue
            }
            for part in resolved.parts {
                if case .literal(let s) = part {
                    literal += s
                } else {
                    if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
                    parts.append(part)
                }
            }
        }
        literal += rest
        if !literal.isEmpty { parts.append(.literal(literal)) }
        // `$` right before a reference that stays symbolic would be written `$${…}`, which reads
        // back as literal text: the value could not be stored and read back as itself.
        for (part, next) in zip(parts, parts.dropFirst()) {
            guard case .literal(let text) = part, text.hasSuffix("$") else { continue }
            switch next {
            case .secret, .port:
                error("bad-interpolation", "a '$' right before '\(Text(parts: [next]).manifestText)' in \(quoteValue(text + Text(parts: [next]).manifestText)) is ambiguous; put another character between them", node, path())
                return nil
            case .literal:
                continue
            }
        }
        return ok ? Text(parts: parts) : nil
    }

    private func quoteValue(_ text: String) -> String { "'\(text.truncatedForMessage)'" }

    private mutating func resolveReference(
        _ reference: String, at node: NodeRef, _ path: @autoclosure () -> KeyPath, allow: InterpolationAllowance
    ) -> Text? {
        let trimmed = reference.trimmingSpaces
        if trimmed == "port" {
            guard allow.contains(.port) else {
                error("bad-interpolation", "'${port}' is only available in a service's command, environment and healthcheck", node, path())
                return nil
            }
            return Text(parts: [.port])
        }
        guard let colon = trimmed.firstIndex(of: ":") else {
            error("bad-interpolation", "unknown reference '${\(reference)}'; expected ${var:NAME}, ${env:NAME}, ${secret:NAME}, ${service:NAME.url} or ${port}", node, path())
            return nil
        }
        let kind = String(trimmed[..<colon]).trimmingSpaces
        let argument = String(trimmed[trimmed.index(after: colon)...]).trimmingSpaces
        if context.stage == .stored && kind != "secret" {
            error("bad-interpolation", "'${\(reference)}' cannot appear in a resolved spec (only ${secret:NAME} and ${port} are left to fill)", node, path())
            return nil
        }
        switch kind {
        case "var":
            if context.brokenVariables.contains(argument) { return nil }
            guard let value = context.variables[argument] else {
                error("unresolved-variable", "variable '\(argument)' is not defined\(Suggestion.suffix(argument, in: context.variables.keys)) (define it under 'variables' or pass --var \(argument)=VALUE)", node, path())
                return nil
            }
            if value.isSensitive && !allow.contains(.secret) {
                error("secret-not-allowed", "variable '\(argument)' holds a secret, and secrets are only allowed in environment values and commands", node, path())
                return nil
            }
            return value
        case "env":
            var name = argument
            var fallback: String?
            if let comma = argument.firstIndex(of: ",") {
                name = String(argument[..<comma]).trimmingSpaces
                let raw = String(argument[argument.index(after: comma)...]).trimmingSpaces
                if raw.count >= 2, let first = raw.first, first == "'" || first == "\"", raw.last == first {
                    fallback = String(raw.dropFirst().dropLast())
                } else {
                    error("bad-interpolation", "the fallback in '${env:\(argument)}' must be quoted: ${env:\(name), 'value'}", node, path())
                    return nil
                }
            }
            guard Reader.isEnvironmentName(name) else {
                error("bad-interpolation", "'\(name)' is not a valid environment variable name in '${env:\(argument)}'", node, path())
                return nil
            }
            if let value = context.environment[name] { return Text(value) }
            if let fallback { return Text(fallback) }
            error("unresolved-env", "environment variable '\(name)' is not set and '${env:\(name)}' has no fallback (write ${env:\(name), 'default'})", node, path())
            return nil
        case "secret":
            guard Reader.isEnvironmentName(argument) else {
                error("bad-interpolation", "'\(argument)' is not a valid secret name", node, path())
                return nil
            }
            guard allow.contains(.secret) else {
                error("secret-not-allowed", "'${secret:\(argument)}' is only allowed in environment values and commands", node, path())
                return nil
            }
            if context.stage == .manifest && context.environment[argument] == nil {
                let message = "secret '\(argument)' is not set in the environment"
                if context.secretsRequired {
                    error("missing-secret", message, node, path())
                    return nil
                }
                warning("missing-secret", message + "; the runtime will need it", node, path())
            }
            return Text(parts: [.secret(argument)])
        case "service":
            let pieces = argument.split(separator: ".", maxSplits: 1).map(String.init)
            let properties = ["url", "host", "port"]
            guard pieces.count == 2, properties.contains(pieces[1]) else {
                error("bad-interpolation", "'${service:\(argument)}' must be ${service:NAME.url}, ${service:NAME.host} or ${service:NAME.port}", node, path())
                return nil
            }
            guard allow.contains(.service) else {
                error("bad-interpolation", "'${service:…}' is not allowed here", node, path())
                return nil
            }
            let name = pieces[0]
            guard let entry = context.servicePorts[name] else {
                error("unresolved-reference", "unknown service '\(name)' in '${service:\(argument)}'\(Suggestion.suffix(name, in: context.servicePorts.keys))", node, path())
                return nil
            }
            if context.servicesWithInvalidPort.contains(name) {
                quietErrors += 1  // reported at the service's port
                return nil
            }
            guard let port = entry else {
                error("unresolved-reference", "service '\(name)' has no 'port', so '${service:\(argument)}' has no value", node, path())
                return nil
            }
            serviceReferences.insert(name)
            switch pieces[1] {
            case "url": return Text("http://127.0.0.1:\(port)")
            case "host": return Text("127.0.0.1")
            default: return Text(String(port))
            }
        default:
            let kinds = ["var", "env", "secret", "service"]
            error("bad-interpolation", "unknown reference kind '\(kind)' in '${\(reference)}'\(Suggestion.suffix(kind, in: kinds))", node, path())
            return nil
        }
    }

    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || ASCII.isLetter(first) else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || ASCII.isLetter($0) || ASCII.isDigit($0) }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
