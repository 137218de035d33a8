import ArgumentParser
import Foundation
import KumoApply
import KumoManifest
import KumoPlan
import KumoState

/// The flags `apply`, `destroy`, `up` and `down` share, turned into one ``ApplyWorkflow`` run:
/// load the project (or a saved plan), connect to the runtime, open the state, and print what
/// the workflow shows and does.
struct ApplyRun {
    var project: ProjectOptions
    var planning: PlanningOptions
    var stateOptions: StateOptions
    var lockOptions: LockOptions
    var output: OutputOptions
    var autoApprove: Bool
    var destroy: Bool
    var loaded: LoadResult?
    var refresh = false

    /// The project directory without loading manifests (destroy and down work from the state).
    func projectDirectory() -> String {
        let first = project.paths.first ?? "."
        var isDirectory: ObjCBool = false
        let absolute = StateLocation.resolve(explicit: first, environment: [:], projectDirectory: ".")
        if FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory), !isDirectory.boolValue {
            return (absolute as NSString).deletingLastPathComponent
        }
        return absolute
    }

    /// Runs it; false when the apply failed or was declined.
    func run(planFile: String?) async throws -> Bool {
        let color = output.color(for: 1)
        let environment = ProcessInfo.processInfo.environment
        let input: ApplyWorkflow.Input
        let directory: String
        var savedStatePath: String?
        var loadedProject: Project?
        if let planFile {
            let saved: SavedPlan
            let text = try readTextFile(planFile)
            do { saved = try SavedPlan(json: text) } catch { throw fail("\(planFile): \(error)") }
            directory = saved.projectDirectory ?? projectDirectory()
            savedStatePath = saved.statePath
            input = .saved(saved)
        } else if destroy {
            directory = projectDirectory()
            input = .desired(DesiredState(project: URL(fileURLWithPath: directory).lastPathComponent, resources: []))
        } else {
            let loaded = self.loaded ?? project.load(requireSecrets: true)
            guard let resolved = loaded.project else {
                loaded.report(color: output.color(for: 2))
                throw ExitCode.failure
            }
            if self.loaded == nil && !loaded.warnings.isEmpty { loaded.report(color: output.color(for: 2)) }
            directory = resolved.directory
            loadedProject = resolved
            do {
                let hasher = CodeHasher()
                input = .desired(try DesiredState(project: resolved, environment: environment) { try hasher.hash(directory: $0) })
            } catch { throw fail("\(error)") }
        }
        let statePath = try stateOptions.file.explicit(projectDirectory: directory, project: loadedProject)
            ?? savedStatePath ?? stateOptions.path(projectDirectory: directory, project: loadedProject)
        try stateOptions.refuseEmptyFile(statePath)
        let client: RuntimeClient
        do { client = try RuntimeClient.connect(projectDirectory: directory) } catch { throw fail("\(error)") }
        // With --force, a 0-byte state file is initialised as a new, empty state.
        guard let store = try stateOptions.open(statePath, create: true) else { throw ExitCode.failure }

        let verb = destroy ? "destroy" : "apply"
        let progress = ProgressPrinter(terminal: isatty(1) == 1, color: color)
        let autoApprove = self.autoApprove
        let interaction = ApplyWorkflow.Interaction(
            show: { shown in
                switch shown {
                case .drift(let drift): Console.out(Refresh.describe(drift))
                case .plan(let plan): Console.out(PlanRenderer(color: color).text(plan))
                case .lockTakenOver(let previous): noteTakeover(previous)
                }
            },
            confirm: { _ in
                if autoApprove { Console.out("\n"); return true }
                guard isatty(0) == 1 else {
                    throw fail("\(verb) needs confirmation: run it on a terminal, or give --auto-approve")
                }
                Console.out("\nDo you want to perform these actions? Only 'yes' will be accepted.\n  Enter a value: ")
                guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
                    Console.out("\(destroy ? "Destroy" : "Apply") cancelled.\n")
                    return false
                }
                Console.out("\n")
                return true
            },
            progress: { progress.show($0) })
        let workflow = ApplyWorkflow(options: .init(
            operation: destroy ? .destroy : .apply, targets: planning.targets, parallelism: planning.parallelism,
            refresh: refresh, lockTimeout: try lockOptions.seconds, projectDirectory: directory))
        let result: ApplyWorkflow.Result
        do { result = try await workflow.run(input, store: store, runtime: client, interaction: interaction, environment: environment) } catch let error as ApplyWorkflow.Failure {
            throw fail(error.description)
        }
        switch result {
        case .upToDate: return true
        case .declined: return false
        case .executed(let plan, let outcome):
            progress.finish()
            let counts = "\(plan.count(.create)) added, \(plan.count(.update)) changed, \(plan.count(.replace)) replaced, \(plan.count(.delete)) destroyed"
            // Estimate against actual, as `kumo calibrate --report` lists them later.
            let estimate = plan.estimate.map { e -> String in
                var text = "; the plan estimated " + PlanRenderer.seconds(e.seconds)
                if let error = e.error { text += " ± " + PlanRenderer.seconds(error) }
                if outcome.seconds > 0 { text += String(format: " (%+.0f %%)", (e.seconds - outcome.seconds) / outcome.seconds * 100) }
                return text
            } ?? ""
            if outcome.succeeded {
                Console.out("\n\(destroy ? "Destroy" : "Apply") complete! Resources: \(counts). Took \(PlanRenderer.seconds(outcome.seconds))\(estimate).\n")
                return true
            }
            Console.err("\nerror: \(verb) failed after \(outcome.applied) of \(plan.actionable.count) actions:\n")
            for failure in outcome.failures { Console.err("  \(failure.address): \(failure.error)\n") }
            Console.err("The state records what was done; 'kumo plan' shows what remains.\n")
            return false
        }
    }
}
