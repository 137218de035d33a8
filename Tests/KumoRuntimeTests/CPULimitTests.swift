import Foundation
@testable import KumoRuntime
import Testing

/// Where the runtime looks for a cpu controller, from the mount table and the process's cgroups.
struct CPULimitTests {
    @Test func aHybridMachineUsesTheV1CPUHierarchyFirst() {
        let mounts = """
            30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
            31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw
            35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct
            36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:16 - cgroup cgroup rw,memory
            37 30 0:33 / /sys/fs/cgroup/cpuacct rw,nosuid - cgroup cgroup rw,cpuacct
            """
        let membership = "4:memory:/\n3:cpu,cpuacct:/\n0::/\n"
        let found = CPULimit.candidates(mounts: mounts, membership: membership)
        #expect(found == [.init(hierarchy: .v1, path: "/sys/fs/cgroup/cpu,cpuacct"), .init(hierarchy: .v2, path: "/sys/fs/cgroup/unified")])
    }

    @Test func aV2MachineUsesTheProcessOwnCgroupAndSkipsReadOnlyMounts() {
        let mounts = """
            29 24 0:25 / /sys/fs/cgroup rw,nosuid,nodev shared:4 - cgroup2 cgroup2 rw,nsdelegate
            40 24 0:40 / /mnt/readonly ro,nosuid - cgroup2 cgroup2 rw
            """
        // A cgroup path that does not exist here falls back to the mount point itself.
        let found = CPULimit.candidates(mounts: mounts, membership: "0::/user.slice/no-such-kumo-test.scope\n")
        #expect(found == [.init(hierarchy: .v2, path: "/sys/fs/cgroup")])
    }

    @Test func noCgroupFileSystemMeansLimitsAreOnlyRecorded() throws {
        let directory = NSTemporaryDirectory() + "kumo-cpu-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n".write(toFile: directory + "/mountinfo", atomically: true, encoding: .utf8)
        try "0::/\n".write(toFile: directory + "/cgroup", atomically: true, encoding: .utf8)
        let limit = CPULimit.detect(mountInfo: directory + "/mountinfo", cgroupFile: directory + "/cgroup")
        #expect(limit.directory == nil)
        #expect(limit.summary == "recorded, not enforced: no cgroup file system with the cpu controller")
        guard case .failure = limit.prepare(cpus: 0.5, name: "x") else {
            Issue.record("prepare must fail without a controller")
            return
        }
    }
}
