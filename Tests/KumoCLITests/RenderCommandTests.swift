import Foundation
import KumoTestSupport
import Testing

/// `kumo render` as a user runs it: the YAML on standard output or in files, diagnostics on
/// standard error, `--strict`, `--json`, and the exit status.
@Suite struct RenderCommandTests {
    static var golden: String { Support.packageRoot + "/Tests/KumoRenderTests/Fixtures/golden" }

    func kumo(_ arguments: [String]) throws -> KumoTestSupport.Output {
        try KumoTestSupport.run(arguments + ["--no-color"])
    }

    /// Standard output carries exactly the golden renderings; the warnings go to standard error.
    @Test(arguments: ["hello", "shop"])
    func examplesRenderToStandardOutput(example: String) throws {
        for target in ["sam", "kubernetes"] {
            let result = try kumo(["render", "--target", target, Support.examples + "/" + example])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == (try String(contentsOfFile: "\(Self.golden)/\(example)-\(target).yaml", encoding: .utf8)))
            #expect(result.stderr.contains("Rendered "), "\(result.stderr)")
        }
    }

    /// `-o FILE` writes the template with CodeUri relative to the file; `-o DIR` one file per object.
    @Test func writesFilesAndDirectories() throws {
        let directory = try Support.temporaryDirectory()
        let template = directory + "/out/template.yaml"
        try FileManager.default.createDirectory(atPath: directory + "/out", withIntermediateDirectories: true)
        let sam = try kumo(["render", "--target", "sam", Support.examples + "/hello", "-o", template])
        #expect(sam.status == 0 && sam.stdout.isEmpty, "\(sam.stderr)")
        let text = try String(contentsOfFile: template, encoding: .utf8)
        // The code directory as seen from the template's directory: up to their common ancestor,
        // then down (the checkout may sit beside the temporary directory or elsewhere).
        let from = URL(fileURLWithPath: directory + "/out").resolvingSymlinksInPath().pathComponents
        let to = URL(fileURLWithPath: Support.examples + "/hello/functions/hello").resolvingSymlinksInPath().pathComponents
        let common = zip(from, to).prefix { $0 == $1 }.count
        let relative = (Array(repeating: "..", count: from.count - common) + to[common...]).joined(separator: "/")
        #expect(text.contains("CodeUri: \(relative)\n"), "\(text)")

        let k8s = try kumo(["render", "--target", "kubernetes", Support.examples + "/shop", "-o", directory + "/k8s"])
        #expect(k8s.status == 0, "\(k8s.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory + "/k8s").sorted()
        #expect(files == ["deployment-api.yaml", "deployment-orders.yaml", "horizontal-pod-autoscaler-api.yaml", "service-api.yaml", "service-orders.yaml"], "\(files)")
        #expect(k8s.stderr.contains("Rendered 5 Kubernetes objects to \(directory)/k8s."))
        // A file where a directory must go is refused.
        let clash = try kumo(["render", "--target", "kubernetes", Support.examples + "/shop", "-o", template])
        #expect(clash.status == 1 && clash.stderr.contains("is a file"), "\(clash.stderr)")
    }

    /// Warnings print like validation (file:line:col, key path) and exit 0; `--strict` makes
    /// them errors: exit 1 and nothing written.
    @Test func strictTurnsWarningsIntoFailure() throws {
        let shop = Support.examples + "/shop"
        let lenient = try kumo(["render", "--target", "kubernetes", shop])
        #expect(lenient.status == 0)
        #expect(lenient.stderr.contains("\(shop)/rules.yaml:7:5: warning: rule 'big-order' is not rendered for Kubernetes"), "\(lenient.stderr)")
        #expect(lenient.stderr.contains("   = at: rules.big-order\n"))
        let directory = try Support.temporaryDirectory() + "/k8s"
        let strict = try kumo(["render", "--target", "kubernetes", shop, "--strict", "-o", directory])
        #expect(strict.status == 1 && strict.stdout.isEmpty)
        #expect(strict.stderr.contains("\(shop)/rules.yaml:7:5: error: rule 'big-order' is not rendered for Kubernetes"), "\(strict.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    /// `--json`: the summary a machine reads, with the rendering inside when there is no -o.
    @Test func jsonSummary() throws {
        let result = try kumo(["render", "--target", "sam", Support.examples + "/shop", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(summary["target"] as? String == "sam" && summary["rendered"] as? Bool == true)
        #expect(summary["errors"] as? Int == 0 && (summary["warnings"] as? Int ?? 0) > 0)
        let diagnostics = try #require(summary["diagnostics"] as? [[String: Any]])
        #expect(diagnostics.allSatisfy { $0["file"] is String && $0["line"] is Int && $0["keyPath"] is String && ($0["id"] as? String)?.hasPrefix("render-") == true })
        let rendering = try #require(summary["rendering"] as? String)
        #expect(rendering == (try String(contentsOfFile: "\(Self.golden)/shop-sam.yaml", encoding: .utf8)))
        let documents = try #require(summary["documents"] as? [[String: Any]])
        let resources = try #require(documents.first?["resources"] as? [[String: Any]])
        #expect(resources.contains { $0["logicalId"] as? String == "CreateOrderFunction" && $0["type"] as? String == "AWS::Serverless::Function" })
    }

    /// A service without `image` is an error for both targets, at the service; a bad target is
    /// a usage error.
    @Test func serviceWithoutImageFails() throws {
        let directory = try Support.temporaryDirectory()
        let path = directory + "/kumo.yaml"
        try "version: 1\nproject: p\nservices:\n  api:\n    command: [\"./api\"]\n".write(toFile: path, atomically: true, encoding: .utf8)
        for target in ["sam", "kubernetes"] {
            let result = try kumo(["render", "--target", target, path])
            #expect(result.status == 1 && result.stdout.isEmpty)
            #expect(result.stderr.contains("\(path):5:5: error: service 'api' has no 'image'"), "\(result.stderr)")
            let json = try kumo(["render", "--target", target, path, "--json"])
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(json.status == 1 && summary["rendered"] as? Bool == false && summary["errors"] as? Int == 1)
        }
        let bad = try kumo(["render", "--target", "helm", path])
        #expect(bad.status != 0 && bad.stderr.contains("helm"))
    }
}
