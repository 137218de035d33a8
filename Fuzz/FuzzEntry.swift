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
    }
    return 0
}
