import CKumoSpawn
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How function workers and service replicas are kept apart from each other and from the
/// runtime: each starts in its own pid and mount namespaces (and user namespace, when the
/// runtime is not root), under `kumo-init` as the namespace's first process.
///
/// What that gives, and nothing more:
/// - its /proc shows only its own processes: not the runtime's, not other workers' (their
///   environments and secrets among them);
/// - the project's `.kumo` directory (the control token, state, logs) and a state file kept
///   elsewhere are covered by empty read-only mounts, which the program cannot remove (it has
///   no capabilities);
/// - every process it starts, however it detaches (setsid, double fork), ends with it.
/// It still shares the file system otherwise, the network (loopback included) and the user.
///
/// Where the machine does not allow it (no `kumo-init` beside kumo, namespaces refused, or
/// `KUMO_ISOLATION=off`), processes start as before and `reason` says why.
public struct Isolation: Sendable {
    /// The `kumo-init` program, when isolation is available.
    public let initPath: String?
    /// Paths covered in every namespace.
    public let hidden: [String]
    /// Why isolation is not available, when it is not.
    public let reason: String?
    /// The lines for uid_map and gid_map: the runtime's own ids (nil when it runs as root).
    let userMap: (uid: String, gid: String)?

    /// No isolation, for why.
    public static func none(_ why: String) -> Isolation {
        Isolation(initPath: nil, hidden: [], reason: why, userMap: nil)
    }

    /// Finds `kumo-init` and tries it once with the namespaces this runtime would use.
    public static func detect(hiding hidden: [String], environment: [String: String] = ProcessInfo.processInfo.environment) -> Isolation {
        if environment["KUMO_ISOLATION"] == "off" { return .none("turned off by KUMO_ISOLATION=off") }
        guard let initPath = locateInit() else {
            return .none("kumo-init was not found beside the kumo executable (install both)")
        }
        let userMap = geteuid() == 0 ? nil : (uid: "\(geteuid()) \(geteuid()) 1\n", gid: "\(getegid()) \(getegid()) 1\n")
        let candidate = Isolation(initPath: initPath, hidden: hidden, reason: nil, userMap: userMap)
        do {
            let probe = try ChildProcess(argv: [initPath, "--check"], environment: [:], directory: nil, isolation: candidate, onLine: { _, _ in }, onExit: { _ in })
            let status = probe.waitBlocking()
            guard status == 0 else { return .none("kumo-init --check ended with status \(status)") }
        } catch {
            return .none("\(error)")
        }
        return candidate
    }

    /// `kumo-init` beside the running executable, or beside the runtime's resource bundle
    /// (the same build directory, when the runtime runs inside a test).
    static func locateInit() -> String? {
        var directories: [String] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append((executable as NSString).deletingLastPathComponent)
        }
        if let bundle = Bundle.module.resourcePath {
            directories.append(((bundle as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent)
            directories.append((bundle as NSString).deletingLastPathComponent)
        }
        return directories.map { $0 + "/kumo-init" }.first { access($0, X_OK) == 0 }
    }

    public var isAvailable: Bool { initPath != nil }

    /// What `kumo status` and the runtime log say about it.
    public var summary: String {
        guard isAvailable else { return "not available: \(reason ?? "unknown")" }
        let kinds = userMap == nil ? "pid, mount" : "user, pid, mount"
        return "namespaces (\(kinds)) per worker and replica; hidden: \(hidden.joined(separator: ", "))"
    }

    /// Why a spawn failed at `stage` (KUMO_STAGE_*).
    static func describe(stage: Int32, error: Int32) -> String {
        let what: String
        switch stage {
        case Int32(KUMO_STAGE_CLONE): what = "cannot create the namespaces"
        case Int32(KUMO_STAGE_USER): what = "cannot map the user into the new user namespace"
        case Int32(KUMO_STAGE_PRIVATE): what = "cannot make the mounts private"
        case Int32(KUMO_STAGE_PROC): what = "cannot mount /proc in the new pid namespace"
        case Int32(KUMO_STAGE_HIDE): what = "cannot hide the runtime's files"
        case Int32(KUMO_STAGE_EXEC): what = "cannot start kumo-init"
        default: what = "cannot set up the process"
        }
        return "\(what): \(String(cString: strerror(error)))"
    }
}
