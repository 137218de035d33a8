import ArgumentParser
import Foundation
import KumoManifest
import KumoRender

extension RenderTarget: ExpressibleByArgument {}

extension Kumo {
    struct RenderCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render",
            abstract: "Render the project for AWS SAM or Kubernetes.",
            discussion: """
                --target sam writes one SAM template (functions on Lambda, rules on EventBridge, \
                services on ECS Fargate, scaling on Application Auto Scaling); --target kubernetes \
                writes Deployments, Services, HorizontalPodAutoscalers, Knative Services for \
                functions with an image, and one Secret. -o FILE (sam) or -o DIR (kubernetes, one \
                file per object); without -o, or with -o -, the YAML goes to standard output. What a \
                target cannot express is a warning at its source position; --strict makes warnings \
                errors. Secrets are never written: SAM gets Secrets Manager references, Kubernetes \
                secretKeyRefs. Exit status: 0 rendered, 1 errors (nothing is written).
                """
        )

        @OptionGroup var project: ProjectOptions
        @OptionGroup var colors: OutputOptions

        @Option(help: ArgumentHelp("The engine to render for.", valueName: "sam|kubernetes"))
        var target: RenderTarget

        @Option(name: [.customShort("o"), .customLong("output")],
                help: ArgumentHelp("Where to write: a file (sam), a directory (kubernetes), or - for standard output (default).", valueName: "FILE|DIR|-"))
        var destination: String?

        @Flag(help: "Treat warnings as errors (exit 1, nothing written).")
        var strict = false

        @Flag(help: "Print a JSON summary on standard output: the objects, the diagnostics and, without -o, the rendering.")
        var json = false

        private var toStandardOutput: Bool { destination == nil || destination == "-" }

        func run() async throws {
            let loaded = project.load()
            // Rendering never needs a secret's value: an unset one is not worth a warning here.
            var diagnostics = loaded.diagnostics.filter { $0.id != "missing-secret" }
            if strict { diagnostics = diagnostics.map { var d = $0; d.severity = .error; return d } }
            guard let manifest = loaded.project, !diagnostics.contains(where: { $0.severity == .error }) else {
                finish(nil, diagnostics: diagnostics, files: loaded.files)
            }
            var options = RenderOptions(strict: strict)
            if target == .sam, !toStandardOutput, let destination {
                options.codeRoot = RenderCommand.relativePath(from: (destination as NSString).deletingLastPathComponent, to: manifest.directory)
            }
            let rendering = Render.render(target, manifest, sources: RenderSources(loaded), options: options)
            diagnostics += rendering.diagnostics
            guard !diagnostics.contains(where: { $0.severity == .error }) else {
                finish(nil, diagnostics: diagnostics, files: loaded.files)
            }
            do { try write(rendering) } catch { throw fail("\(error)") }
            finish(rendering, diagnostics: diagnostics, files: loaded.files)
        }

        private func write(_ rendering: Rendering) throws {
            guard let destination, destination != "-" else {
                if !json { rendering.bytes.withUnsafeBytes { Console.out($0) } }
                return
            }
            switch rendering.target {
            case .sam:
                try writeAtomically(rendering.bytes, to: destination)
            case .kubernetes:
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: destination, isDirectory: &isDirectory), !isDirectory.boolValue {
                    throw ValidationError("-o \(destination) is a file: --target kubernetes writes a directory, one file per object (or - for standard output)")
                }
                do { try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true) } catch {
                    throw ValidationError("cannot create directory '\(destination)': \(error.localizedDescription)")
                }
                for document in rendering.documents {
                    try writeAtomically(document.value.yaml(), to: (destination as NSString).appendingPathComponent(document.fileName))
                }
            }
        }

        /// Reports the diagnostics (and the JSON summary) and exits: 1 when there are errors.
        private func finish(_ rendering: Rendering?, diagnostics: [Diagnostic], files: SourceFiles) -> Never {
            let sorted = Diagnostic.sorted(diagnostics)
            if json {
                Console.out(summary(rendering, diagnostics: sorted).json() + "\n")
            } else {
                if !sorted.isEmpty {
                    Console.err(DiagnosticRenderer(files: files, color: colors.color(for: 2)).render(sorted))
                    Console.err(DiagnosticRenderer.summary(sorted) + "\n")
                }
                if let rendering {
                    let count = rendering.documents.count
                    let what = rendering.target == .sam ? "a SAM template" : "\(count) Kubernetes object\(count == 1 ? "" : "s")"
                    let place = toStandardOutput ? "standard output" : destination!
                    Console.err("Rendered \(what) to \(place).\n")
                }
            }
            Console.exit(failure: rendering == nil)
        }

        private func summary(_ rendering: Rendering?, diagnostics: [Diagnostic]) -> ConfigValue {
            let errors = diagnostics.filter { $0.severity == .error }.count
            var fields: [(String, ConfigValue)] = [
                ("target", .string(target.rawValue)),
                ("rendered", .bool(rendering != nil)),
                ("output", toStandardOutput ? .null : .string(destination!)),
                ("errors", .int(errors)),
                ("warnings", .int(diagnostics.count - errors)),
                ("diagnostics", DiagnosticRenderer.json(diagnostics)),
            ]
            if let rendering {
                fields.append(("documents", .array(rendering.documents.map { document in
                    var entry: [(String, ConfigValue)] = []
                    if !document.apiVersion.isEmpty { entry.append(("apiVersion", .string(document.apiVersion))) }
                    entry += [("kind", .string(document.kind)), ("name", .string(document.name))]
                    if rendering.target == .kubernetes, !toStandardOutput { entry.append(("file", .string(document.fileName))) }
                    if case .object(let top) = document.value, let resources = top.first(where: { $0.0 == "Resources" })?.1, case .object(let list) = resources {
                        entry.append(("resources", .array(list.map { id, resource in
                            var type = ConfigValue.null
                            if case .object(let fields) = resource { type = fields.first { $0.0 == "Type" }?.1 ?? .null }
                            return .object([("logicalId", .string(id)), ("type", type)])
                        })))
                    }
                    return .object(entry)
                })))
                if toStandardOutput { fields.append(("rendering", .string(rendering.text))) }
            }
            return .object(fields)
        }

        /// The path of `target` relative to the directory `base`, with a trailing `/` (empty
        /// when they are the same): how the template finds the code it names.
        static func relativePath(from base: String, to target: String) -> String {
            func components(_ path: String) -> [String] {
                let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + (path.isEmpty ? "." : path)
                return URL(fileURLWithPath: absolute).standardizedFileURL.resolvingSymlinksInPath().pathComponents.filter { $0 != "/" }
            }
            let from = components(base), to = components(target)
            var common = 0
            while common < min(from.count, to.count), from[common] == to[common] { common += 1 }
            let parts = Array(repeating: "..", count: from.count - common) + to[common...]
            return parts.isEmpty ? "" : parts.joined(separator: "/") + "/"
        }
    }
}
