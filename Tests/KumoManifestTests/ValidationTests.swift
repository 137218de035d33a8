import Foundation
import KumoEvents
import KumoTestSupport
import Testing

@testable import KumoManifest

@Suite struct ValidationTests {
    /// A project directory with a code folder, so `code:` paths resolve.
    static let root: String = {
        let dir = try! Support.temporaryDirectory("kumo-validation")
        try? FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
        return dir
    }()

    func load(_ text: String, options: LoadOptions = LoadOptions(environment: [:])) -> LoadResult {
        ProjectLoader.load(sources: [(path: ValidationTests.root + "/kumo.yaml", bytes: Array(text.utf8))], root: ValidationTests.root, options: options)
    }

    func messages(_ result: LoadResult) -> [String] { result.errors.map(\.message) }

    @Test func scalarsAreTypedByTheirField() throws {
        let result = load("""
            version: 1
            project: norway
            services:
              api:
                command: ["python3", "-m", "api", 0755, 2122:22]
                restart: no
                environment: { A: no, B: on, C: 0755, D: 2122:22, E: 1e3 }
                healthcheck: { tcp: true }
            """)
        #expect(result.errors.isEmpty, "\(messages(result))")
        let api = try #require(result.project?.services.first)
        #expect(api.restart == .no)
        #expect(api.environment["A"]?.literal == "no")
        #expect(api.environment["B"]?.literal == "on")
        #expect(api.environment["C"]?.literal == "0755")
        #expect(api.environment["D"]?.literal == "2122:22")
        #expect(api.environment["E"]?.literal == "1e3")
        #expect(api.command.map(\.manifestText) == ["python3", "-m", "api", "0755", "2122:22"])
    }

    @Test func aQuotedNumberForANumberFieldSaysWhatWasExpected() {
        let result = load("""
            version: 1
            project: p
            services:
              api: { command: [x], replicas: "12", healthcheck: { tcp: true } }
            """)
        #expect(messages(result) == ["'replicas' in service 'api': expected an integer, got the string \"12\""])
        #expect(result.errors.first?.keyPath == "services.api.replicas")
        #expect(result.errors.first?.line == 4)
    }

    @Test func allErrorsAreReportedAtOnce() {
        let result = load("""
            version: 1
            project: p
            functions:
              a: { runtime: python3, handler: app.h, code: src, memroy: 1 }
              b: { runtime: pyhton3 }
            services:
              s: { command: [x], replicas: -1 }
            rules:
              r: { pattern: { source: x }, targets: [ { function: c } ] }
            """)
        let ids = result.errors.map(\.id)
        #expect(ids.contains("unknown-key"))
        #expect(ids.contains("invalid-value"))
        #expect(ids.contains("out-of-range"))
        #expect(ids.contains("invalid-pattern"))
        #expect(result.errors.count >= 4)
        #expect(messages(result).contains { $0.contains("did you mean 'python3'?") })
    }

    @Test func defaultsDeepMergeMapsReplaceListsAndOverrideScalars() throws {
        let result = load("""
            version: 1
            project: p
            defaults:
              function:
                runtime: python3
                memory: 256
                code: src
                environment: { A: "1", B: "2" }
                events: [ { schedule: rate(1 hour) } ]
            functions:
              f:
                handler: app.h
                memory: 512
                environment: { B: "3", C: "4" }
                events: [ { schedule: rate(2 hours) } ]
              g: { handler: app.g }
            """)
        #expect(result.errors.isEmpty, "\(messages(result))")
        let project = try #require(result.project)
        let f = project.functions[0], g = project.functions[1]
        #expect(f.memory == 512 && g.memory == 256)
        #expect(f.environment.mapValues(\.manifestText) == ["A": "1", "B": "3", "C": "4"])
        #expect(f.events == [.schedule(try Schedule(parsing: "rate(2 hours)"))])
        #expect(g.events == [.schedule(try Schedule(parsing: "rate(1 hour)"))])
        #expect(g.code == "src")
    }

    @Test func anErrorInDefaultsIsReportedOnceAtTheDefaults() {
        let result = load("""
            version: 1
            project: p
            defaults:
              function: { runtime: python3, memory: lots, code: src, memroy: 1 }
            functions:
              a: { handler: app.a }
              b: { handler: app.b }
              c: { handler: app.c }
            """)
        #expect(result.errors.count == 2, "\(messages(result))")
        #expect(result.errors.allSatisfy { $0.line == 4 })
    }

    @Test func variablesStagesAndCommandLineOverrides() throws {
        let text = """
            version: 1
            project: p
            variables:
              default: { table: dev, size: 256, url: "db://${var:table}" }
              prod: { table: prod }
            functions:
              f:
                runtime: python3
                handler: app.h
                code: src
                memory: ${var:size}
                environment: { TABLE: "${var:table}", URL: "${var:url}", HOME_DIR: "${env:HOME_DIR, '/tmp'}", LIT: "$${var:x}" }
            """
        let dev = try #require(load(text).project?.functions.first)
        #expect(dev.memory == 256)
        #expect(dev.environment["TABLE"]?.literal == "dev")
        #expect(dev.environment["URL"]?.literal == "db://dev")
        #expect(dev.environment["HOME_DIR"]?.literal == "/tmp")
        #expect(dev.environment["LIT"]?.literal == "${var:x}")
        #expect(dev.environment["LIT"]?.manifestText == "$${var:x}")

        let prod = try #require(load(text, options: LoadOptions(stage: "prod", environment: ["HOME_DIR": "/home/k"])).project?.functions.first)
        #expect(prod.environment["TABLE"]?.literal == "prod")
        #expect(prod.environment["URL"]?.literal == "db://prod")
        #expect(prod.environment["HOME_DIR"]?.literal == "/home/k")

        let overridden = try #require(load(text, options: LoadOptions(variables: ["size": "1024"], stage: "prod", environment: [:])).project?.functions.first)
        #expect(overridden.memory == 1024)

        let unknown = load(text, options: LoadOptions(stage: "prd", environment: [:]))
        #expect(messages(unknown).contains { $0.contains("stage 'prd' is not defined") && $0.contains("did you mean 'prod'?") })
    }

    @Test func secretsStaySymbolicAndAreNeverResolvedIntoOutput() throws {
        let text = """
            version: 1
            project: p
            functions:
              f:
                runtime: python3
                handler: app.h
                code: src
                environment: { KEY: "Bearer ${secret:API_KEY}" }
            """
        let result = load(text, options: LoadOptions(environment: ["API_KEY": "hunter2"]))
        let f = try #require(result.project?.functions.first)
        #expect(f.environment["KEY"]?.isSensitive == true)
        #expect(f.environment["KEY"]?.description == "(sensitive)")
        #expect(try f.environment["KEY"]?.resolved(secrets: ["API_KEY": "hunter2"], port: nil) == "Bearer hunter2")
        let config = try #require(result.project).configValue
        #expect(!config.json().contains("hunter2"))
        #expect(!config.yaml().contains("hunter2"))
        #expect(config.yaml().contains("${secret:API_KEY}"))

        let missing = load(text)
        #expect(missing.errors.isEmpty)
        #expect(missing.warnings.map(\.id) == ["missing-secret"])
        let required = load(text, options: LoadOptions(environment: [:], requireSecrets: true))
        #expect(required.errors.map(\.id) == ["missing-secret"])
    }

    @Test func cyclesAreListedInCanonicalOrder() {
        let result = load("""
            version: 1
            project: p
            services:
              web: { command: [x], port: 9001, dependsOn: [cache] }
              cache: { command: [x], port: 9002, environment: { DB: "${service:db.url}" } }
              db: { command: [x], port: 9003, dependsOn: { web: { condition: healthy } } }
            """)
        let cycles = result.errors.filter { $0.id == "dependency-cycle" }.map(\.message)
        #expect(cycles == ["dependency cycle: service.cache → service.db → service.web → service.cache"])
    }

    @Test func serviceReferencesResolveToTheFrontPort() throws {
        let result = load("""
            version: 1
            project: p
            services:
              api: { command: [x, "${port}"], port: 8081, environment: { ORDERS: "${service:orders.url}", H: "${service:orders.host}:${service:orders.port}" }, healthcheck: { http: /healthz } }
              orders: { command: [x], port: 8082, healthcheck: { tcp: true } }
            """)
        #expect(result.errors.isEmpty, "\(messages(result))")
        let api = try #require(result.project?.services.first)
        #expect(api.environment["ORDERS"]?.literal == "http://127.0.0.1:8082")
        #expect(api.environment["H"]?.literal == "127.0.0.1:8082")
        #expect(api.command[1].parts == [.port])
        #expect(try api.command[1].resolved(secrets: [:], port: 41000) == "41000")
    }

    @Test func durationsAndSizes() {
        #expect(Duration(parsing: "1h30m")?.milliseconds == 5_400_000)
        #expect(Duration(parsing: "250ms")?.milliseconds == 250)
        #expect(Duration(parsing: "30") == nil)
        #expect(Duration(parsing: "s") == nil)
        #expect(Duration(parsing: "99999999999999999999h") == nil)
        #expect(Duration(milliseconds: 90_000).description == "90s")
        #expect(Duration(milliseconds: 3_600_000).description == "1h")
    }

    @Test func suggestions() {
        #expect(Suggestion.closest(to: "memroy", in: Function.keys) == "memory")
        #expect(Suggestion.closest(to: "Runtime", in: Function.keys) == "runtime")
        #expect(Suggestion.closest(to: "zzzzzz", in: Function.keys) == nil)
    }

    @Test func yamlOutputQuotesWhatCouldBeMisread() {
        for text in ["no", "yes", "on", "0755", "2122:22", "1e3", "null", "", " x", "a: b", "#x", "- x", "true", "0x1F", "*a", "&a", "!x", "@x", "%x", "x #y"] {
            #expect(ConfigValue.needsQuotes(text), "\(text) should be quoted")
        }
        for text in ["hello", "app.handler", "/orders/{id}", "rate(5 minutes)", "python3"] {
            #expect(!ConfigValue.needsQuotes(text), "\(text) need not be quoted")
        }
    }
}

@Suite struct ConfigOutputTests {
    /// Found by the fuzzer: ": " followed by a combining mark is one Character to `String.contains`.
    @Test func indicatorsHiddenByCombiningMarksAreQuoted() {
        #expect(ConfigValue.needsQuotes("defaults: \u{065B}eon3"))
        #expect(!ConfigValue.needsQuotes("plain words"))
        #expect(ConfigValue.needsQuotes("a #\u{0301}b"))
        #expect(ConfigValue.needsQuotes("tab\there"))
    }
}

@Suite struct HandlerTests {
    @Test func handlerNames() {
        for good in ["app.handler", "lib/app.handler", "a-b/c_d.e.f", "x._private", "src/v1.2/app.main"] {
            #expect(Reader.isHandler(good), "\(good)")
        }
        for bad in ["handler", ".handler", "app.", "app.1x", "../app.h", "a//b.h", "a/../b.h", "/app.h", "app/.h", "a b.h", "app.han-dler"] {
            #expect(!Reader.isHandler(bad), "\(bad)")
        }
    }
}
