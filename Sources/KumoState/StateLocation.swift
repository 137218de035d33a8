import Foundation

/// Where the state lives: `--state PATH`, else `KUMO_STATE`, else `.kumo/state.db` in the
/// project directory.
public enum StateLocation {
    public static let environmentVariable = "KUMO_STATE"

    public static func resolve(explicit: String?, environment: [String: String], projectDirectory: String) -> String {
        if let explicit, !explicit.isEmpty { return absolute(explicit) }
        if let value = environment[environmentVariable], !value.isEmpty { return absolute(value) }
        return absolute(projectDirectory) + "/.kumo/state.db"
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let cwd = FileManager.default.currentDirectoryPath
        return path == "." ? cwd : cwd + "/" + path
    }
}
