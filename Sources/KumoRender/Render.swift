public import KumoManifest

/// The engines `kumo render` writes for.
public enum RenderTarget: String, Sendable, CaseIterable {
    case sam, kubernetes
}

/// Where a project came from, so that findings point into its files: the loader's files and
/// parsed documents (``LoadResult/files``, ``LoadResult/documents``). Empty sources give
/// diagnostics without positions.
public struct RenderSources: Sendable {
    public var files: SourceFiles
    public var documents: [Node]

    public init(files: SourceFiles = SourceFiles(), documents: [Node] = []) {
        self.files = files
        self.documents = documents
    }

    public init(_ result: LoadResult) {
        self.init(files: result.files, documents: result.documents)
    }
}

public struct RenderOptions: Sendable {
    /// Warnings become errors (`--strict`).
    public var strict: Bool
    /// The project directory as seen from the directory the SAM template is written to, with a
    /// trailing `/` (empty: the same directory); `CodeUri` paths are prefixed with it.
    public var codeRoot: String

    public init(strict: Bool = false, codeRoot: String = "") {
        self.strict = strict
        self.codeRoot = codeRoot
    }
}

/// The output of a renderer: YAML documents in a stable order, and every finding.
///
/// A value: safe to share between threads.
public struct Rendering: Sendable {
    /// One YAML document: a SAM template, or one Kubernetes object.
    public struct Document: Sendable {
        /// `apiVersion` of a Kubernetes object; empty for a SAM template.
        public var apiVersion: String
        public var kind: String
        public var name: String
        public var value: ConfigValue

        /// A file name for the document when a directory is written: `deployment-api.yaml`,
        /// `knative-service-resize.yaml`.
        public var fileName: String {
            let group = apiVersion.contains("knative.dev") ? "knative-" : ""
            return group + Rendering.Document.kebab(kind) + "-" + name + ".yaml"
        }

        static func kebab(_ kind: String) -> String {
            var out = ""
            for ch in kind {
                if ch.isUppercase, !out.isEmpty { out += "-" }
                out += ch.lowercased()
            }
            return out
        }
    }

    public var target: RenderTarget
    public var documents: [Document]
    /// Sorted by file and position; errors when `strict` turned warnings into errors.
    public var diagnostics: [Diagnostic]

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// The documents as one YAML stream (`---` between documents).
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// ``text`` as UTF-8, for writing without another copy.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        for (i, document) in documents.enumerated() {
            if i > 0 { out += "---\n".utf8 }
            out += document.value.yamlBytes()
        }
        return out
    }
}

/// Renders a validated project for a production engine. Pure: no I/O; the same project gives
/// the same bytes.
public enum Render {
    public static func render(_ target: RenderTarget, _ project: Project, sources: RenderSources = RenderSources(),
                              options: RenderOptions = RenderOptions()) -> Rendering {
        switch target {
        case .sam: sam(project, sources: sources, options: options)
        case .kubernetes: kubernetes(project, sources: sources, options: options)
        }
    }

    /// One AWS SAM template: functions on Lambda, rules on EventBridge, services on ECS Fargate,
    /// scaling on Application Auto Scaling.
    public static func sam(_ project: Project, sources: RenderSources = RenderSources(), options: RenderOptions = RenderOptions()) -> Rendering {
        var renderer = SAMRenderer(project: project, options: options)
        let template = renderer.template()
        let documents = renderer.findings.hasErrors ? [] : [Rendering.Document(apiVersion: "", kind: "Template", name: project.name, value: template)]
        return Rendering(target: .sam, documents: documents, diagnostics: renderer.findings.diagnostics(sources: sources, strict: options.strict))
    }

    /// Kubernetes objects: services as Deployments and Services, their scaling as HPAs,
    /// functions with an `image` as Knative Services, secrets in one Secret.
    public static func kubernetes(_ project: Project, sources: RenderSources = RenderSources(), options: RenderOptions = RenderOptions()) -> Rendering {
        var renderer = KubernetesRenderer(project: project)
        let documents = renderer.documents()
        return Rendering(target: .kubernetes, documents: renderer.findings.hasErrors ? [] : documents,
                         diagnostics: renderer.findings.diagnostics(sources: sources, strict: options.strict))
    }
}
