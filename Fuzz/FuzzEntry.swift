// libFuzzer entry point for the loader and validator; built by scripts/fuzz together with the
// KumoManifest sources (one module), with -sanitize=fuzzer,address.
import Foundation

let fuzzRoot: String = {
    let dir = NSTemporaryDirectory() + "kumo-fuzz-root"
    try? FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
    return dir
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func kumoFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = LoadLimits(maxFileSize: 1 << 20, maxDepth: 64, aliasExpansionFloor: 100_000)
    let options = LoadOptions(variables: ["fuzz": "1"], environment: ["HOME": "/root"], limits: limits)
    let result = ProjectLoader.load(sources: [(path: fuzzRoot + "/fuzz.yaml", bytes: bytes)], root: fuzzRoot, options: options)

    // Property: when the two-core parse accepts a cut, its tree equals the serial parse's,
    // positions included (the threshold is lowered so small inputs exercise the cut).
    let cutLimits = LoadLimits(maxFileSize: 1 << 20, maxDepth: 64, aliasExpansionFloor: 100_000, parallelThreshold: 0)
    if let parallel = ParallelLoad.load(bytes: bytes, file: SourceFileID(0), limits: cutLimits) {
        var serial = Builder(file: SourceFileID(0), bytes: bytes, limits: cutLimits)
        let documents = serial.run()
        guard serial.problems.isEmpty, documents.count == parallel.count,
            zip(documents, parallel).allSatisfy({ sameTree($0, $1) })
        else {
            fatalError("two-core parse differs from the serial parse\n--- input\n\(String(decoding: bytes, as: UTF8.self))")
        }
    }

    // Rendering must cope with any position and any source line.
    _ = DiagnosticRenderer(files: result.files, color: true).render(result.diagnostics)
    _ = DiagnosticRenderer.json(result.diagnostics).json()

    // Property: a valid project's resolved form is a manifest that resolves to the same project.
    if let project = result.project {
        let yaml = project.configValue.yaml()
        let again = ProjectLoader.load(sources: [(path: fuzzRoot + "/again.yaml", bytes: Array(yaml.utf8))], root: fuzzRoot, options: options)
        guard let reloaded = again.project else {
            fatalError("round trip failed: \(again.errors.map(\.message))\n--- input\n\(String(decoding: bytes, as: UTF8.self))\n--- output\n\(yaml)")
        }
        if reloaded.configValue != project.configValue {
            fatalError("round trip changed the project\n--- output\n\(yaml)\n--- again\n\(reloaded.configValue.yaml())")
        }
        // Property: every resource's canonical spec (what state, saved plans and the control API
        // carry) reads back into the same typed spec.
        let specs = project.functions.map(ResourceSpec.function) + project.services.map(ResourceSpec.service)
            + project.scaling.map(ResourceSpec.scaling) + project.rules.map(ResourceSpec.rule)
        for spec in specs {
            do {
                let decoded = try ResourceSpec(kind: spec.kind, name: spec.name, canonical: spec.canonical)
                if decoded.canonical != spec.canonical || decoded.secretNames != spec.secretNames {
                    fatalError("the stored spec of \(spec.address) reads back differently\n\(spec.canonical.json())\n---\n\(decoded.canonical.json())")
                }
            } catch {
                fatalError("the stored spec of \(spec.address) cannot be read back: \(error)\n\(spec.canonical.json())")
            }
        }
    }
    return 0
}

/// Structural equality of two trees, every position included.
func sameTree(_ a: Node, _ b: Node) -> Bool {
    guard a.range == b.range else { return false }
    switch (a.kind, b.kind) {
    case (.scalar(let x), .scalar(let y)): return x == y
    case (.sequence(let x), .sequence(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameTree($0, $1) }
    case (.mapping(let x), .mapping(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { sameTree($0.key, $1.key) && sameTree($0.value, $1.value) }
    default: return false
    }
}
