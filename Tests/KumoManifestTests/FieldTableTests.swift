import Foundation
import KumoTestSupport
import Testing

@testable import KumoManifest

/// The field tables are the one description of the format: the readers' keys, the suggestions
/// for unknown keys and the committed JSON Schema all come from them.
@Suite(.serialized) struct FieldTableTests {
    static let schemaFile = KumoTestSupport.packageRoot + "/schemas/kumo.schema.json"

    /// A project directory with the code folder the manifests below name.
    static let root: String = {
        let dir = try! Support.temporaryDirectory("kumo-field-tables")
        try? FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
        return dir
    }()

    func load(_ text: String) -> LoadResult {
        ProjectLoader.load(sources: [(path: FieldTableTests.root + "/kumo.yaml", bytes: Array(text.utf8))], root: FieldTableTests.root, options: LoadOptions(environment: [:]))
    }

    // MARK: The committed schema

    /// `kumo schema` prints exactly schemas/kumo.schema.json; KUMO_UPDATE_GOLDEN=1 rewrites the file.
    @Test func committedSchemaIsTheOutputOfKumoSchema() throws {
        let result = try KumoTestSupport.run(["schema"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == JSONSchema.text, "the command prints the library's schema")
        if ProcessInfo.processInfo.environment["KUMO_UPDATE_GOLDEN"] == "1" {
            try result.stdout.write(toFile: FieldTableTests.schemaFile, atomically: true, encoding: .utf8)
            return
        }
        let committed = try String(contentsOfFile: FieldTableTests.schemaFile, encoding: .utf8)
        if result.stdout != committed {
            let a = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            let e = committed.split(separator: "\n", omittingEmptySubsequences: false)
            let line = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
            Issue.record("schemas/kumo.schema.json is not the output of `kumo schema`; first difference at line \(line + 1):\n  committed: \(line < e.count ? String(e[line]) : "<end>")\n  kumo:      \(line < a.count ? String(a[line]) : "<end>")\n(KUMO_UPDATE_GOLDEN=1 swift test --filter FieldTableTests rewrites it)")
        }
    }

    @Test func schemaIsPrettyPrintedJSONEndingInANewline() throws {
        let text = JSONSchema.text
        #expect(text.hasSuffix("}\n"))
        #expect(text.hasPrefix("{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let properties = try #require(object["properties"] as? [String: Any])
        #expect(properties.keys.sorted() == Project.fields.keys.sorted())
        #expect(JSONSchema.text == text, "deterministic")
    }

    @Test func boundedIntegersAndDurationsArePatterns() throws {
        let pattern = try Regex("^(?:" + JSONSchema.DecimalPattern.integer(16, 262_144) + ")$")
        for (value, accepted) in [("15", false), ("16", true), ("0016", true), ("99999", true), ("262144", true), ("262145", false), ("1000000", false)] {
            #expect(((try? pattern.wholeMatch(in: value)) != nil) == accepted, "\(value)")
        }
        let duration = try Regex(JSONSchema.DecimalPattern.duration(Function.timeoutRange))
        for (value, accepted) in [("999ms", false), ("1000ms", true), ("1s", true), ("900s", true), ("901s", false), ("15m", true), ("16m", false), ("1h", false), ("1m30s", true)] {
            #expect(((try? duration.wholeMatch(in: value)) != nil) == accepted, "\(value)")
        }
    }

    // MARK: Readers

    @Test func readersTakeTheirKeysFromTheTables() {
        #expect(Function.keys == Function.fields.fields.map(\.name))
        #expect(Service.keys == Service.fields.fields.map(\.name))
        #expect(Healthcheck.keys == ["http", "tcp", "exec", "interval", "timeout", "retries", "startPeriod"])
        #expect(Project.keys == ["version", "project", "variables", "defaults", "functions", "services", "scaling", "rules", "estimates", "pricing", "usage"])
        for table in [Function.fields, Service.fields, Healthcheck.fields, ScalingPolicy.fields, Rule.fields, RuleTarget.fields, Project.fields] {
            #expect(table.keys.count <= Fields.capacity, "the reader's fixed slot table holds every key")
            #expect(Set(table.keys).count == table.keys.count, "no key twice")
        }
    }

    @Test func unknownKeysSuggestFromTheTables() {
        let result = load("""
            version: 1
            project: typos
            varibles: {}
            functions:
              f:
                runtime: python3
                handler: app.handler
                code: src
                memroy: 512
                invokeConfig: { onFailur: dlq }
            services:
              api:
                command: ["./api"]
                healthcheck: { tcp: true, intervall: 5s }
                resources: { cpus: 1 }
            rules:
              r:
                pattern: { source: ["x"] }
                targets: [ { function: f, inputPth: "$.detail" } ]
                retryPolicy: { maximumEventAges: 1h }
            estimates: { functions: { inti: 1s } }
            """)
        let messages = result.errors.filter { $0.id == "unknown-key" }.map(\.message)
        for (key, suggestion) in [("varibles", "variables"), ("onFailur", "onFailure"), ("intervall", "interval"), ("cpus", "cpu"), ("inputPth", "inputPath"), ("maximumEventAges", "maximumEventAge"), ("inti", "init")] {
            #expect(messages.contains { $0.contains("unknown") && $0.contains("'\(key)'") && $0.hasSuffix("did you mean '\(suggestion)'?") }, "\(key): \(messages)")
        }
        let functionTypo = load("""
            version: 1
            project: typos
            functions:
              f: { runtime: python3, handler: app.handler, code: src, memroy: 512 }
            """)
        #expect(functionTypo.errors.map(\.message) == ["unknown key 'memroy' in function 'f'; did you mean 'memory'?"])
    }

    /// One manifest that writes every field of every table (`defaults` aside: it has the
    /// function's and service's own tables) and is valid.
    static let everyField = """
        {
          "version": 1,
          "project": "every-field",
          "variables": { "default": { "level": "info" }, "prod": { "level": "warn" } },
          "defaults": { "function": { "memory": 256 }, "service": { "restart": "always" } },
          "functions": {
            "f": {
              "description": "a function", "runtime": "python3", "handler": "app.handler", "code": "src",
              "memory": "512Mi", "timeout": "30s", "environment": { "LEVEL": "${var:level}" },
              "concurrency": 10, "minInstances": 1, "idleTimeout": "60s",
              "events": [ { "http": { "method": "POST", "path": "/orders/{id}" } }, { "schedule": "rate(5 minutes)" } ],
              "invokeConfig": { "maximumRetryAttempts": 1, "maximumEventAge": "1h", "onFailure": "dlq" }
            },
            "g": { "runtime": "exec", "command": ["./report.sh"], "code": "src" }
          },
          "services": {
            "api": {
              "description": "a service", "command": ["python3", "-m", "api", "--port", "${port}"], "code": "src",
              "image": "shop/api:1", "port": 18081, "replicas": 2, "resources": { "cpu": 0.5, "memory": 512 },
              "environment": { "DB": "${service:db.url}" },
              "healthcheck": { "http": "/healthz", "interval": "5s", "timeout": "1s", "retries": 3, "startPeriod": "2s" },
              "dependsOn": { "db": { "condition": "healthy" } }, "restart": "on-failure", "stopGracePeriod": "10s"
            },
            "db": { "command": ["./db"], "port": 18082, "healthcheck": { "tcp": true } },
            "worker": { "command": ["./worker"], "dependsOn": ["db"], "healthcheck": { "exec": ["./check"] } }
          },
          "scaling": {
            "api-load": {
              "target": "service.api", "minReplicas": 1, "maxReplicas": 10,
              "linear": { "metric": "requestsPerSecond", "maxLoad": 200 },
              "behavior": {
                "scaleUp": { "stabilizationWindow": "0s", "policies": [ { "type": "percent", "value": 100, "period": "15s" } ], "selectPolicy": "max" },
                "scaleDown": { "stabilizationWindow": "300s", "policies": [ { "type": "replicas", "value": 1, "period": "60s" } ], "selectPolicy": "min" }
              }
            },
            "f-load": { "target": "function.f", "maxReplicas": 5, "targetTracking": { "metric": "concurrency", "target": 0.7 } }
          },
          "rules": {
            "big": {
              "description": "a rule", "enabled": true, "pattern": { "source": ["shop"] }, "schedule": "rate(5 minutes)",
              "targets": [
                { "function": "f", "inputTransformer": { "inputPathsMap": { "id": "$.detail.id" }, "inputTemplate": "{\\"id\\": <id>}" } },
                { "service": "api", "path": "/hooks/big", "input": "{\\"big\\": true}" },
                { "function": "g", "inputPath": "$.detail" }
              ],
              "retryPolicy": { "maximumRetryAttempts": 3, "maximumEventAge": "1h" }, "deadLetter": true
            }
          },
          "estimates": {
            "functions": { "init": "10ms", "each": "120ms", "register": "5ms", "remove": "8ms", "stop": "10ms", "parallelism": 2 },
            "services": { "init": "15ms", "each": "350ms", "register": "10ms", "remove": "10ms", "stop": "15ms", "parallelism": 3 },
            "rules": { "init": "20ms", "each": "2ms" }
          },
          "pricing": {
            "region": "eu-west-1",
            "functions": { "perGbSecond": 0.0000166667, "perMillionRequests": 0.2 },
            "services": { "perVcpuHour": 0.04048, "perGbHour": 0.004445 }
          },
          "usage": { "function.f": { "monthlyRequests": 1000000, "averageDuration": "120ms" } }
        }
        """

    @Test func everyTableFieldIsAcceptedByKumoValidate() throws {
        let json = try JSONSerialization.jsonObject(with: Data(FieldTableTests.everyField.utf8))
        let unused = FieldTableTests.unused(json, .object(Project.fields), at: "", skipping: ["defaults.function", "defaults.service"])
        #expect(unused.isEmpty, "fields of the tables the manifest does not write: \(unused.sorted())")
        // The check notices a field left out.
        let trimmed = FieldTableTests.everyField.replacingOccurrences(of: ", \"deadLetter\": true", with: "")
        let without = try JSONSerialization.jsonObject(with: Data(trimmed.utf8))
        #expect(FieldTableTests.unused(without, .object(Project.fields), at: "", skipping: ["defaults.function", "defaults.service"]) == ["rules.*.deadLetter"])

        let directory = FieldTableTests.root + "/every-field"
        try FileManager.default.createDirectory(atPath: directory + "/src", withIntermediateDirectories: true)
        try FieldTableTests.everyField.write(toFile: directory + "/kumo.yaml", atomically: true, encoding: .utf8)
        let result = try KumoTestSupport.run(["validate", "--json", directory])
        #expect(result.status == 0, "\(result.stdout)")
        let diagnostics = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(diagnostics.filter { $0["severity"] as? String == "error" }.isEmpty, "\(diagnostics)")
    }

    /// The key paths of `kind` that `value` never writes (list items and named entries as `*`;
    /// a path counts as written when any item or entry writes it).
    static func unused(_ value: Any?, _ kind: Field.Kind, at path: String, skipping: Set<String>) -> Set<String> {
        func join(_ key: String) -> String { path.isEmpty ? key : path + "." + key }
        func across(_ values: [Any], _ kind: Field.Kind, _ path: String) -> Set<String> {
            guard let first = values.first else { return unused(nil, kind, at: path, skipping: skipping) }
            return values.dropFirst().reduce(unused(first, kind, at: path, skipping: skipping)) { $0.intersection(unused($1, kind, at: path, skipping: skipping)) }
        }
        if skipping.contains(path) { return [] }
        switch kind {
        case .named(_, let inner):
            return unused(value, inner, at: path, skipping: skipping)
        case .object(let table):
            let object = value as? [String: Any] ?? [:]
            var result: Set<String> = []
            for field in table.fields {
                if let v = object[field.name] {
                    result.formUnion(unused(v, field.kind, at: join(field.name), skipping: skipping))
                } else {
                    result.insert(join(field.name))
                }
            }
            return result
        case .list(let item, _):
            return across(value as? [Any] ?? [], item, join("*"))
        case .entries(_, let inner, _):
            let entries = (value as? [String: Any] ?? [:]).filter { !$0.key.hasPrefix("x-") }.sorted { $0.key < $1.key }.map(\.value)
            return across(entries, inner, join("*"))
        case .anyOf(let kinds):
            return kinds.reduce(into: Set<String>()) { $0.formUnion(unused(value, $1, at: path, skipping: skipping)) }
        default:
            return []
        }
    }
}
