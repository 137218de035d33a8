import Foundation
import KumoPlan
import KumoState
import KumoTestSupport
import Testing

/// A state file that exists but holds 0 bytes (a crash or a bad copy truncated it) is not an
/// empty state (issue 15.9): SQLite would read it as one, and plan would then offer to create
/// everything again. Every command that reads the state refuses it in one line naming the
/// file, exit 1, without touching the disk; `--force` uses it as an empty state.
@Suite(.serialized) struct EmptyStateFileTests {
    /// Every file under `directory` with its size, to see that nothing changed.
    func listing(_ directory: String) -> [String: Int] {
        var files: [String: Int] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let name = enumerator?.nextObject() as? String {
            let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name))?[.size] as? Int
            files[name] = size ?? -1
        }
        return files
    }

    /// The hello example in a temporary directory, its plan saved while it had no state, a state
    /// document with its function in `doc.json`, and then a 0-byte `.kumo/state.db`.
    func truncatedProject() throws -> (dir: String, project: String, state: String) {
        let dir = try Support.temporaryDirectory()
        let project = dir + "/project"
        try FileManager.default.copyItem(atPath: Support.examples + "/hello", toPath: project)
        let saved = try Support.kumo(["plan", project, "--out", dir + "/plan.json"])
        #expect(saved.status == 0, "\(saved.stderr)")
        let desired = try Support.desired("hello")
        let applied = StateSnapshot.empty.applying(try Planner().plan(desired: desired, current: .empty), resources: desired.resources, secrets: [:], lineage: UUID().uuidString.lowercased())
        try Support.write(applied, to: dir + "/source.db")
        let pulled = try Support.kumo(["state", "pull", "--state", dir + "/source.db"])
        #expect(pulled.status == 0, "\(pulled.stderr)")
        try pulled.stdout.write(toFile: dir + "/doc.json", atomically: true, encoding: .utf8)
        let state = project + "/.kumo/state.db"
        try FileManager.default.createDirectory(atPath: project + "/.kumo", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: state, contents: Data()))
        return (dir, project, state)
    }

    @Test func everyCommandThatReadsTheStateRefusesAZeroByteFile() throws {
        let (dir, project, state) = try truncatedProject()
        // Without the fix `runtime start` starts a daemon: stop it whatever happens.
        defer { _ = try? Support.kumo(["runtime", "stop", "-C", project]) }
        let before = listing(dir)
        let commands: [[String]] = [
            ["plan", project], ["diff", project], ["plan", project, "--refresh"],
            ["apply", project, "--auto-approve"], ["apply", dir + "/plan.json", "--auto-approve"], ["destroy", project, "--auto-approve"],
            ["show", dir + "/plan.json"], ["status", "-C", project], ["calibrate", "-C", project],
            ["runtime", "start", "-C", project, "--gateway-port", "0"],
            ["state", "list", "-C", project], ["state", "show", "function.hello", "-C", project], ["state", "pull", "-C", project],
            ["state", "push", dir + "/doc.json", "-C", project], ["state", "unlock", "some-lock-id", "-C", project],
            ["state", "list", "--state", state],
        ]
        for command in commands {
            let name = command.joined(separator: " ")
            let result = try Support.kumo(command)
            #expect(result.status == 1, "\(name): exit \(result.status)\n\(result.stdout)\n\(result.stderr)")
            #expect(result.stderr.hasPrefix("error: the state file '\(state)' is empty (0 bytes)"), "\(name): \(result.stderr)")
            #expect(result.stderr.contains("--force"), "\(name): says how to proceed: \(result.stderr)")
            #expect(result.stderr.filter { $0 == "\n" }.count == 1, "\(name): one line: \(result.stderr)")
            #expect(listing(dir) == before, "\(name) changed the disk: \(listing(dir)) (was \(before))")
        }
        #expect(try FileManager.default.attributesOfItem(atPath: state)[.size] as? Int == 0)
    }

    @Test func forceReadsItAsAnEmptyStateAndWritesInitialiseIt() throws {
        let (dir, project, state) = try truncatedProject()
        defer { _ = try? Support.kumo(["runtime", "stop", "-C", project]) }
        let before = listing(dir)

        // Reading with --force: an empty state, and nothing written.
        let list = try Support.kumo(["state", "list", "-C", project, "--force"])
        #expect(list.status == 0 && list.stdout.isEmpty && list.stderr.contains("is empty"), "\(list.stderr)")
        let plan = try Support.kumo(["plan", project, "--force"])
        #expect(plan.status == 0 && plan.stdout.contains("+ function.hello"), "\(plan.stdout)\n\(plan.stderr)")
        let diff = try Support.kumo(["diff", project, "--force"])
        #expect(diff.status == 2, "\(diff.stderr)")
        let show = try Support.kumo(["show", dir + "/plan.json", "--force"])
        #expect(show.status == 0 && show.stdout.contains("still matches"), "\(show.stdout)\n\(show.stderr)")
        let pull = try Support.kumo(["state", "pull", "-C", project, "--force"])
        #expect(pull.status == 0 && (try? StateDocument(json: pull.stdout))?.snapshot.resources.isEmpty == true, "\(pull.stderr)")
        let status = try Support.kumo(["status", "-C", project, "--force"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(listing(dir) == before, "reading with --force wrote: \(listing(dir))")

        // `state push --force` (which also skips the lineage checks) restores a pulled copy into it.
        let push = try Support.kumo(["state", "push", dir + "/doc.json", "-C", project, "--force"])
        #expect(push.status == 0, "\(push.stderr)")
        let restored = try Support.kumo(["state", "list", "-C", project])
        #expect(restored.status == 0 && restored.stdout == "function.hello\n", "\(restored.stdout)\n\(restored.stderr)")

        // An apply with --force initialises it as a new state and records what it did.
        try Data().write(to: URL(fileURLWithPath: state))
        for leftover in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: state + leftover) }
        let refused = try Support.kumo(["runtime", "start", "-C", project, "--gateway-port", "0"])
        #expect(refused.status == 1 && refused.stderr.contains(state), "\(refused.stderr)")
        let started = try Support.kumo(["runtime", "start", "-C", project, "--gateway-port", "0", "--force"])
        #expect(started.status == 0, "\(started.stdout)\n\(started.stderr)")
        let apply = try Support.kumo(["apply", project, "--auto-approve", "--force"])
        #expect(apply.status == 0 && apply.stdout.contains("1 added"), "\(apply.stdout)\n\(apply.stderr)")
        let store = try #require(try SQLiteStateStore.open(path: state, create: false))
        let snapshot = try store.snapshot()
        #expect(Array(snapshot.resources.keys) == ["function.hello"])
        #expect(snapshot.serial >= 1 && snapshot.lineage != nil)
    }

    /// `--force` comes from one option group every command that reads the state shares, except
    /// `state push`, whose own `--force` keeps its meaning: no command has two (ArgumentParser
    /// refuses duplicate names only when the command runs), and each has exactly one.
    @Test func everyCommandParsesAndStateReadersHaveOneForce() throws {
        let readers: [[String]] = [
            ["plan"], ["diff"], ["show"], ["apply"], ["destroy"], ["up"], ["down"], ["status"], ["calibrate"],
            ["runtime", "start"], ["runtime", "serve"],
            ["state", "list"], ["state", "show"], ["state", "pull"], ["state", "push"], ["state", "unlock"],
        ]
        let others: [[String]] = [["validate"], ["config"], ["invoke"], ["logs"], ["schema"], ["runtime", "stop"], ["runtime", "status"], ["state"], ["runtime"]]
        for command in readers + others {
            let help = try Support.kumo(command + ["--help"])
            let name = command.joined(separator: " ")
            #expect(help.status == 0, "\(name) --help: \(help.stderr)")
            // Option lines, not the usage line or the discussion.
            let forces = help.stdout.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("--force") }.count
            #expect(forces == (readers.contains(command) ? 1 : 0), "\(name) --help mentions --force \(forces) times:\n\(help.stdout)")
        }
        let push = try Support.kumo(["state", "push", "--help"])
        #expect(push.stdout.contains("lineage differs"), "state push keeps its --force: \(push.stdout)")
    }
}
