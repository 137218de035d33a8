import Foundation

/// A PostgreSQL state: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB?schema=NAME&sslmode=MODE`.
///
/// The password is kept apart from everything that is printed: ``description`` (used in every
/// message, plan file and `runtime.json`) never contains it. It comes from the URL, else
/// `PGPASSWORD`, else the password file (`PGPASSFILE`, default `~/.pgpass`), as with `psql`.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// How the connection uses TLS (`sslmode=`), as libpq names the modes.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, without checking its certificate (the default, as
        /// with libpq).
        case prefer
        /// TLS or no connection; the certificate is not checked.
        case require
        /// TLS with a certificate that a trusted authority signed for this host name.
        case verifyFull = "verify-full"
    }

    static let schemes = ["postgres", "postgresql"]
    public static let defaultPort = 5432

    public var user: String
    /// The password written in the URL, if any (never printed).
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    /// The schema holding the state's tables; nil until a command fills in the default
    /// (``defaultSchema(project:stage:)``).
    public var schema: String?
    public var sslMode: SSLMode

    public init(user: String, password: String? = nil, host: String, port: Int = defaultPort, database: String, schema: String? = nil, sslMode: SSLMode = .prefer) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.schema = schema
        self.sslMode = sslMode
    }

    public init(url text: String) throws(StateError) {
        func invalid(_ why: String) -> StateError {
            StateError("invalid state URL '\(PostgresLocation.redact(text))': \(why) (expected postgres://USER@HOST:PORT/DB?schema=NAME&sslmode=disable|require|verify-full)")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), PostgresLocation.schemes.contains(scheme) else {
            throw invalid("not a URL")
        }
        guard let host = components.host, !host.isEmpty else { throw invalid("no host") }
        guard let user = components.user, !user.isEmpty else { throw invalid("no user") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw invalid("no database") }
        var schema: String?
        var sslMode = SSLMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "schema":
                guard let value = item.value, PostgresLocation.isValidSchema(value) else {
                    throw invalid("schema= takes a name of letters, digits and '_' (at most 63), got '\(item.value ?? "")'")
                }
                schema = value
            case "sslmode":
                guard let value = item.value, let mode = SSLMode(rawValue: value) else {
                    throw invalid("sslmode= takes disable, prefer, require or verify-full, got '\(item.value ?? "")'")
                }
                sslMode = mode
            default:
                throw invalid("unknown parameter '\(item.name)' (schema and sslmode are known)")
            }
        }
        self.init(user: user.removingPercentEncoding ?? user, password: components.password.map { $0.removingPercentEncoding ?? $0 },
                  host: host, port: components.port ?? PostgresLocation.defaultPort,
                  database: database.removingPercentEncoding ?? database, schema: schema, sslMode: sslMode)
    }

    /// The URL without the password: what every message and saved file shows.
    public var description: String {
        var query: [String] = []
        if let schema { query.append("schema=" + schema) }
        if sslMode != .prefer { query.append("sslmode=" + sslMode.rawValue) }
        let user = self.user.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? self.user
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(hostPart):\(port)/\(database)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    /// Host, port and database, for one-line errors.
    public var server: String { "\(host):\(port), database \(database)" }

    /// This location without the password in the URL.
    public var withoutPassword: PostgresLocation {
        var copy = self
        copy.password = nil
        return copy
    }

    /// The schema a project's stage uses when the URL names none: `kumo_<project>_<stage>`,
    /// lower-cased, with every character other than a letter, digit or '_' as '_', so that
    /// stages never share a state by accident.
    public static func defaultSchema(project: String, stage: String) -> String {
        let raw = "kumo_\(project)_\(stage)".lowercased()
        let cleaned = String(raw.unicodeScalars.map { scalar -> Character in
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_" ? Character(scalar) : "_"
        })
        return String(cleaned.prefix(63))
    }

    static func isValidSchema(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first), name.utf8.count <= 63 else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// `text` with any password in it replaced by `***`, for a message about a bad URL.
    public static func redact(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text[schemeEnd.upperBound...].lastIndex(of: "@") else { return text }
        let credentials = text[schemeEnd.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    /// The password to log in with: the URL's, else `PGPASSWORD`, else the first matching
    /// line of the password file (ignored, as by libpq, when others may read it).
    public func resolvedPassword(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let password { return password }
        if let value = environment["PGPASSWORD"], !value.isEmpty { return value }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let file = environment["PGPASSFILE"] ?? home + "/.pgpass"
        var info = stat()
        guard stat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_mode & 0o077 == 0,
              let data = FileManager.default.contents(atPath: file) else { return nil }
        return PostgresLocation.passwordFileEntry(String(decoding: data, as: UTF8.self), host: host, port: port, database: database, user: user)
    }

    /// The password of the first line of a `.pgpass` file (`host:port:database:user:password`,
    /// `*` matching anything, `\:` and `\\` escaped) that matches.
    static func passwordFileEntry(_ text: String, host: String, port: Int, database: String, user: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            var fields: [String] = [""]
            var escaped = false
            for character in line {
                if escaped { fields[fields.count - 1].append(character); escaped = false }
                else if character == "\\" { escaped = true }
                else if character == ":" && fields.count < 5 { fields.append("") }
                else { fields[fields.count - 1].append(character) }
            }
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 || ($0 == "localhost" && $1 == "127.0.0.1") }) {
                return fields[4]
            }
        }
        return nil
    }
}
