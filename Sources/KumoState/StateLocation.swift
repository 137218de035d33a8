import Foundation

/// Where the state lives: a SQLite file, or a schema of a PostgreSQL database.
///
/// Chosen by `--state PATH|URL`, else `KUMO_STATE`, else `.kumo/state.db` in the project
/// directory. A value starting with `postgres://` or `postgresql://` is a PostgreSQL state
/// (see ``PostgresLocation``); anything else is a file path.
public enum StateLocation: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case postgres(PostgresLocation)

    public static let environmentVariable = "KUMO_STATE"

    /// The state named by `explicit`, else `KUMO_STATE`, else the project's file. A path is
    /// made absolute; a URL is kept as it is.
    public static func resolve(explicit: String?, environment: [String: String], projectDirectory: String) -> String {
        if let explicit, !explicit.isEmpty { return isURL(explicit) ? explicit : absolute(explicit) }
        if let value = environment[environmentVariable], !value.isEmpty { return isURL(value) ? value : absolute(value) }
        return absolute(projectDirectory) + "/.kumo/state.db"
    }

    public static func isURL(_ text: String) -> Bool {
        PostgresLocation.schemes.contains { text.lowercased().hasPrefix($0 + "://") }
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let cwd = FileManager.default.currentDirectoryPath
        return path == "." ? cwd : cwd + "/" + path
    }

    /// Parses a resolved location (a path, or a PostgreSQL URL).
    public init(_ text: String) throws(StateError) {
        self = StateLocation.isURL(text) ? .postgres(try PostgresLocation(url: text)) : .file(text)
    }

    /// The path, or the URL without its password: safe to print, save and pass on.
    public var description: String {
        switch self {
        case .file(let path): path
        case .postgres(let location): location.description
        }
    }

    /// Opens the store. Without `create`, a state that does not exist yet (a missing file, a
    /// schema without Kumo's tables) is nil, so commands that only read never create one.
    /// `acceptEmptyFile` accepts a SQLite file of 0 bytes as an empty state.
    public func open(create: Bool, acceptEmptyFile: Bool = false) throws(StateError) -> (any StateStore)? {
        switch self {
        case .file(let path): try SQLiteStateStore.open(path: path, create: create, acceptEmptyFile: acceptEmptyFile)
        case .postgres(let location): try PostgresStateStore.open(location, create: create)
        }
    }
}
