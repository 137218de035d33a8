import KumoPlan
import Foundation

/// CPU limits for service replicas: the kernel's CFS bandwidth control, through a cgroup per
/// replica under one directory per runtime.
///
/// Where the machine lets the runtime write a cgroup with the cpu controller (cgroup v1's `cpu`
/// hierarchy, or cgroup v2 with `cpu` delegated), `resources.cpu` = c becomes a quota of
/// c × 100 ms of CPU time per 100 ms period for the replica's process and the children it
/// starts afterwards. Elsewhere (no cgroup file system, not writable, controller not delegated)
/// the limit is recorded in state and shown by `kumo status`, and `reason` says why it is not
/// enforced.
public final class CPULimit: Sendable {
    public enum Hierarchy: String, Sendable { case v1 = "cgroup v1", v2 = "cgroup v2" }

    public static let period = 100_000  // microseconds

    /// This runtime's directory of replica cgroups, when limits can be enforced.
    public let directory: String?
    public let hierarchy: Hierarchy?
    /// Why limits are only recorded, when they are.
    public let reason: String?

    /// Finds a writable cpu controller and makes this runtime's directory in it, after removing
    /// the empty directories of runtimes that are gone.
    public static func detect(mountInfo: String = "/proc/self/mountinfo", cgroupFile: String = "/proc/self/cgroup", pid: Int32 = getpid()) -> CPULimit {
        guard let mounts = try? String(contentsOfFile: mountInfo, encoding: .utf8),
              let membership = try? String(contentsOfFile: cgroupFile, encoding: .utf8) else {
            return CPULimit(reason: "no cgroup information in /proc")
        }
        var failures: [String] = []
        for candidate in candidates(mounts: mounts, membership: membership) {
            let parent = candidate.path
            removeStale(in: parent)
            if candidate.hierarchy == .v2 {
                // The controller must be enabled for the parent's children.
                let controllers = (try? String(contentsOfFile: parent + "/cgroup.controllers", encoding: .utf8)) ?? ""
                guard controllers.split(whereSeparator: \.isWhitespace).contains("cpu") else {
                    failures.append("\(candidate.hierarchy.rawValue): the cpu controller is not available in \(parent)")
                    continue
                }
                _ = write("+cpu", to: parent + "/cgroup.subtree_control")
            }
            let directory = parent + "/kumo-\(pid)"
            if mkdir(directory, 0o755) != 0 && errno != EEXIST {
                failures.append("\(candidate.hierarchy.rawValue): cannot create \(directory): \(String(cString: strerror(errno)))")
                continue
            }
            if candidate.hierarchy == .v2 {
                // And enabled again in this runtime's directory, for the replicas' cgroups in it.
                guard write("+cpu", to: directory + "/cgroup.subtree_control") else {
                    rmdir(directory)
                    failures.append("cgroup v2: cannot enable the cpu controller in \(directory): \(String(cString: strerror(errno)))")
                    continue
                }
            }
            let control = candidate.hierarchy == .v1 ? "/cpu.cfs_quota_us" : "/cpu.max"
            guard FileManager.default.fileExists(atPath: directory + control) else {
                rmdir(directory)
                failures.append("\(candidate.hierarchy.rawValue): no \(control.dropFirst()) in \(parent)")
                continue
            }
            return CPULimit(directory: directory, hierarchy: candidate.hierarchy)
        }
        return CPULimit(reason: failures.isEmpty ? "no cgroup file system with the cpu controller" : failures.joined(separator: "; "))
    }

    private init(directory: String, hierarchy: Hierarchy) {
        self.directory = directory
        self.hierarchy = hierarchy
        reason = nil
    }

    private init(reason: String) {
        directory = nil
        hierarchy = nil
        self.reason = reason
    }

    /// What `kumo status` says about CPU limits.
    public var summary: String {
        if let hierarchy, let directory { return "enforced (\(hierarchy.rawValue), \(directory))" }
        return "recorded, not enforced: \(reason ?? "unknown")"
    }

    /// Makes the cgroup `name` limited to `cpus` CPUs, for a process to start in; returns its
    /// path, or why it could not.
    public func prepare(cpus: Double, name: String) -> Result<String, CPULimitError> {
        guard let directory, let hierarchy else { return .failure(CPULimitError(description: summary)) }
        let group = directory + "/" + name
        if mkdir(group, 0o755) != 0 && errno != EEXIST {
            return .failure(CPULimitError(description: "cannot create \(group): \(String(cString: strerror(errno)))"))
        }
        let quota = max(1000, Int((cpus * Double(CPULimit.period)).rounded()))
        let written: Bool
        switch hierarchy {
        case .v1:
            written = CPULimit.write(String(CPULimit.period), to: group + "/cpu.cfs_period_us")
                && CPULimit.write(String(quota), to: group + "/cpu.cfs_quota_us")
        case .v2:
            written = CPULimit.write("\(quota) \(CPULimit.period)", to: group + "/cpu.max")
        }
        guard written else {
            rmdir(group)
            return .failure(CPULimitError(description: "cannot set the quota of \(group): \(String(cString: strerror(errno)))"))
        }
        return .success(group)
    }

    /// Moves `pid` into `group` (a process started there already is: then nothing changes).
    public func join(_ pid: Int32, _ group: String) -> Result<String, CPULimitError> {
        guard CPULimit.write(String(pid), to: group + "/cgroup.procs") else {
            return .failure(CPULimitError(description: "cannot move pid \(pid) into \(group): \(String(cString: strerror(errno)))"))
        }
        return .success(group)
    }

    /// Removes a replica's cgroup once its processes are gone (retrying briefly: the kernel
    /// empties a cgroup a moment after its last process is reaped).
    public func release(_ group: String) {
        for _ in 0..<50 {
            if rmdir(group) == 0 || errno == ENOENT { return }
            usleep(10_000)
        }
    }

    /// `release` of the cgroup `name` in this runtime's directory, on a dispatch thread (it may
    /// wait, and must not hold up Swift's cooperative pool).
    public func releaseLater(_ name: String) {
        guard let directory else { return }
        let group = directory + "/" + name
        DispatchQueue.global().async { self.release(group) }
    }

    /// Removes this runtime's directory (the replicas' cgroups must be released first).
    public func removeDirectory() {
        guard let directory else { return }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where !name.contains(".") {
            rmdir(directory + "/" + name)
        }
        rmdir(directory)
    }

    // MARK: Finding the controller

    struct Candidate: Equatable {
        var hierarchy: Hierarchy
        var path: String
    }

    /// Directories, from the mount table and this process's own cgroups, under which a cgroup
    /// with the cpu controller could be made: v1 first (a hybrid machine's v2 mount rarely has
    /// the cpu controller), then v2.
    static func candidates(mounts: String, membership: String) -> [Candidate] {
        // /proc/self/cgroup: "ID:CONTROLLERS:PATH"; v2's line is "0::PATH".
        var v1Path: String?
        var v2Path: String?
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty { v2Path = String(fields[2]) }
            if fields[1].split(separator: ",").contains("cpu") { v1Path = String(fields[2]) }
        }
        var v1: [Candidate] = []
        var v2: [Candidate] = []
        // /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS] - FSTYPE SOURCE SUPEROPTIONS".
        for line in mounts.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " "), right = halves[1].split(separator: " ")
            guard left.count >= 6, right.count >= 3, !left[5].split(separator: ",").contains("ro") else { continue }
            let root = String(left[3]), mountPoint = String(left[4])
            func under(_ path: String) -> String {
                // The process's cgroup path is relative to the hierarchy's root; the mount may
                // show only a part of it (in a container, ROOT is the container's cgroup).
                let relative = path.hasPrefix(root) ? String(path.dropFirst(root.count)) : path
                let joined = relative.isEmpty || relative == "/" ? mountPoint : mountPoint + (relative.hasPrefix("/") ? relative : "/" + relative)
                return FileManager.default.fileExists(atPath: joined) ? joined : mountPoint
            }
            if right[0] == "cgroup", right[2].split(separator: ",").contains("cpu") {
                v1.append(Candidate(hierarchy: .v1, path: under(v1Path ?? "/")))
            } else if right[0] == "cgroup2" {
                v2.append(Candidate(hierarchy: .v2, path: under(v2Path ?? "/")))
            }
        }
        return v1 + v2
    }

    /// Directories `kumo-PID` whose runtime is gone, with their emptied replica cgroups.
    static func removeStale(in parent: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix("kumo-") {
            guard let pid = Int32(name.dropFirst(5)), !RuntimeInfo.isRunning(pid) else { continue }
            let directory = parent + "/" + name
            for child in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where !child.contains(".") {
                rmdir(directory + "/" + child)
            }
            rmdir(directory)
        }
    }

    static func write(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }
}

public struct CPULimitError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
