import ArgumentParser
import Foundation
import KumoManifest
import KumoPlan
import KumoScaling

extension Kumo {
    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay a load trace through a scaling policy: replicas, cost and time over capacity.",
            discussion: """
                The trace is CSV with the header time,load: seconds (or ISO-8601 times) and the \
                policy's metric summed over all replicas, such as total requests per second. The \
                policy runs every --interval from the first sample to the last, each time on the last \
                sample at or before it, through the same autoscaler as the runtime. New replicas serve \
                --startup after a scale-up. Over capacity: load above the ready replicas × the load one \
                replica is sized for (the target, or maxLoad / maxReplicas for linear). --compare runs \
                two or more policies on the trace (scaling.A scaling.B, or project paths each holding \
                --policy) and prints their summaries side by side. Exit status: 0, or 1 with one line \
                on standard error.
                """
        )

        @OptionGroup var project: ProjectOptions
        @OptionGroup var output: OutputOptions

        @Option(help: ArgumentHelp("The policy to replay.", valueName: "scaling.NAME"))
        var policy: String?

        @Option(help: ArgumentHelp("The load trace: CSV with the header time,load.", valueName: "FILE.csv"))
        var trace: String

        @Option(help: ArgumentHelp("Time between evaluations.", valueName: "DURATION"))
        var interval = "15s"

        @Option(help: ArgumentHelp("Replicas at the start (default: the policy's minReplicas).", valueName: "N"))
        var initial: Int?

        @Option(help: ArgumentHelp("Time from a scale-up to the new replicas serving.", valueName: "DURATION"))
        var startup = "0s"

        @Flag(help: "Print JSON: the policy, the interval, every step and the summary.")
        var json = false

        @Option(help: ArgumentHelp("Write a chart of replicas, ideal replicas and load to this SVG file.", valueName: "FILE"))
        var svg: String?

        @Flag(help: "List every evaluation in the table, not only the changes.")
        var all = false

        @Option(parsing: .upToNextOption,
                help: ArgumentHelp("Compare policies on the trace: scaling.A scaling.B …, or project paths each holding --policy.",
                                   valueName: "scaling.NAME|PATH"))
        var compare: [String] = []

        /// One line and exit 1, like every other refusal (not usage text and exit 64).
        func validate() throws {
            guard let parsed = Duration(parsing: interval), parsed.milliseconds > 0 else {
                throw fail("--interval takes a duration such as 15s or 1m, got '\(interval)'")
            }
            guard Duration(parsing: startup) != nil else {
                throw fail("--startup takes a duration such as 30s, got '\(startup)'")
            }
            if let initial, !ScalingPolicy.replicasRange.contains(initial) {
                throw fail("--initial takes a count from 0 to \(ScalingPolicy.replicasRange.upperBound), got \(initial)")
            }
            if compare.isEmpty {
                guard policy != nil else { throw fail("missing --policy scaling.NAME (or --compare)") }
            } else {
                guard compare.count >= 2 else { throw fail("--compare takes two or more policies or projects") }
                let addresses = compare.filter { $0.hasPrefix("scaling.") }.count
                if addresses == compare.count {
                    guard policy == nil else { throw fail("--policy and --compare scaling.NAME … do not go together") }
                } else {
                    guard addresses == 0 else { throw fail("--compare takes either scaling.NAME addresses or project paths, not both") }
                    guard policy != nil else { throw fail("--compare with project paths needs --policy scaling.NAME") }
                    guard project.paths.isEmpty else { throw fail("--compare with project paths takes no PATH argument") }
                }
                guard svg == nil else { throw fail("--svg draws one policy: leave out --compare") }
            }
        }

        func run() async throws {
            var options = Simulation.Options(interval: Duration(parsing: interval)!, initialReplicas: initial,
                                             startup: Duration(parsing: startup)!, keepsSteps: compare.isEmpty)
            // One simulation per policy compared, all fed from one pass over the trace.
            var runs: [(policy: ScalingPolicy, options: Simulation.Options, source: String?)] = []
            if compare.isEmpty || compare.allSatisfy({ $0.hasPrefix("scaling.") }) {
                let loaded = try load(project.paths)
                for address in compare.isEmpty ? [policy!] : compare {
                    let (found, price) = try resolve(address, in: loaded)
                    options.pricePerReplicaHour = price
                    runs.append((found, options, nil))
                }
            } else {
                for path in compare {
                    let (found, price) = try resolve(policy!, in: try load([path]))
                    options.pricePerReplicaHour = price
                    runs.append((found, options, path))
                }
            }
            var simulations = runs.map { Simulation(policy: $0.policy, options: $0.options) }
            try replay(&simulations)
            let reports = zip(simulations, runs).map { simulation, run in
                var simulation = simulation
                let summary = simulation.finish()
                return SimulationReport(simulation, summary: summary, source: run.source)
            }
            if !compare.isEmpty {
                Console.out(json ? SimulationReport.comparisonJSON(reports) : SimulationReport.comparison(reports))
                return
            }
            let report = reports[0]
            if let svg {
                do { try writeAtomically(SimulationChart(report).svg(), to: svg) } catch { throw fail("\(error)") }
            }
            if json { report.writeJSON(to: Console.out) } else { Console.out(report.text(allSteps: all)) }
            if let svg, !json { Console.out("\nWrote the chart to \(svg).\n") }
        }

        /// The project at `paths`, or its diagnostics and exit 1.
        private func load(_ paths: [String]) throws -> KumoManifest.Project {
            var options = project
            options.paths = paths
            let result = options.load()
            guard let loaded = result.project else {
                result.report(color: output.color(for: 2))
                throw ExitCode.failure
            }
            if !result.warnings.isEmpty { result.report(color: output.color(for: 2)) }
            return loaded
        }

        /// The policy at `address` (`scaling.NAME` or `NAME`) and the price of a replica-hour of
        /// its target.
        private func resolve(_ address: String, in project: KumoManifest.Project) throws -> (ScalingPolicy, Double) {
            let name = address.hasPrefix("scaling.") ? String(address.dropFirst("scaling.".count)) : address
            guard let found = project.scaling.first(where: { $0.name == name }) else {
                let known = project.scaling.map(\.address).sorted()
                let hint = known.isEmpty ? " (it declares none)" : Suggestion.suffix("scaling.\(name)", in: known)
                throw fail("no scaling policy 'scaling.\(name)' in project '\(project.name)'\(hint)")
            }
            let estimator = Estimator(coefficients: project.estimates, pricing: project.pricing, usage: project.usage)
            let target = found.target.split(separator: ".", maxSplits: 1).last.map(String.init) ?? ""
            let spec: ResourceSpec? = found.target.hasPrefix("service.")
                ? project.services.first { $0.name == target }.map(ResourceSpec.service)
                : project.functions.first { $0.name == target }.map(ResourceSpec.function)
            return (found, spec.flatMap(estimator.hourlyPerReplica) ?? 0)
        }

        /// Reads the trace in chunks, feeding every sample to every simulation.
        private func replay(_ simulations: inout [Simulation]) throws {
            let fd = open(trace, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw fail("cannot read the trace '\(trace)': \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var parser = TraceParser()
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            do {
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw fail("cannot read the trace '\(trace)': \(String(cString: strerror(errno)))")
                    }
                    if n == 0 { break }
                    try buffer.withUnsafeBytes { bytes in
                        try parser.parse(UnsafeRawBufferPointer(rebasing: bytes[..<n])) { sample in
                            for i in simulations.indices { try simulations[i].add(sample) }
                        }
                    }
                }
                try parser.finish { sample in
                    for i in simulations.indices { try simulations[i].add(sample) }
                }
            } catch let error as TraceError {
                throw fail(error.line > 0 ? "\(trace):\(error.line): \(error.message)" : "\(trace): \(error.message)")
            } catch let error as SimulationError {
                throw fail("\(trace):\(parser.line): \(error)")
            }
        }
    }
}
