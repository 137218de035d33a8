import ArgumentParser
import KumoManifest

extension Kumo {
    struct Schema: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the JSON Schema of Kumo manifests.",
            discussion: """
                The schema (draft 2020-12) is built from the field tables the validator
                takes its keys, ranges and defaults from; schemas/kumo.schema.json is its
                output. It serves editor completion and may be looser than kumo, never
                stricter.
                """
        )

        func run() throws {
            Console.out(JSONSchema.text)
        }
    }
}
