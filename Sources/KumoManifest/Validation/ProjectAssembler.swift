import Foundation

/// What one worker found while reading functions, besides the functions themselves: its own
/// reader (and diagnostics), code checker and routes.
struct FunctionBatch: Sendable {
    var reader: Reader
    var codeChecker: CodeChecker
    var routes: [HTTPRoute] = []
    var references: [String: Set<String>] = [:]

    mutating func read(_ entry: ProjectAssembler.Entry, defaults: NodeRef?) -> Function? {
        reader.serviceReferences = []
        let fn = reader.function(entry.name, entry.value, KeyPath("functions", entry.name), defaults: defaults?.pairs, routes: &routes, codeChecker: &codeChecker)
        if !reader.serviceReferences.isEmpty { references[entry.name] = reader.serviceReferences }
        return fn
    }
}

/// Merges documents into one project and validates it, collecting every diagnostic.
struct ProjectAssembler {
    /// A named entry of a section, from whichever document declared it.
    struct Entry: Sendable {
        var name: String
        var key: NodeRef
        var value: NodeRef
    }

    var reader: Reader
    let root: String
    let clock = ContinuousClock()
    /// Time spent in each step of `assemble`, for `--timings`.
    var timings: [(String, Double)] = []
    let options: LoadOptions

    var versionNodes: [NodeRef] = []
    var projectNodes: [NodeRef] = []
    var sections: [String: [Entry]] = [:]
    /// Section → name → the key that first declared it, to name both places of a duplicate.
    var firstDeclaration: [String: [String: NodeRef]] = [:]
    var variableStages: [String: [Entry]] = [:]
    var stageKeys: [String: NodeRef] = [:]
    var variablesKey: NodeRef?
    var firstDocument: NodeRef?
    var defaults: [String: Entry] = [:]
    var settings: [String: [String: Entry]] = [:]

    init(sink: DiagnosticSink, root: String, options: LoadOptions) {
        var context = InterpolationContext()
        context.environment = options.environment
        context.secretsRequired = options.requireSecrets
        self.reader = Reader(sink: sink, context: context)
        self.root = root
        self.options = options
    }

    static let kindNames = ["functions": "function", "services": "service", "scaling": "scaling policy", "rules": "rule", "usage": "usage entry"]

    mutating func assemble(_ documents: [NodeRef]) -> Project? {
        var lap = clock.now
        func phase(_ name: String) {
            let now = clock.now
            timings.append((name, (now - lap).seconds))
            lap = now
        }
        for document in documents { collect(document) }
        phase("collect")
        let hadStructure = !documents.isEmpty
        guard hadStructure else {
            if !reader.sink.hasErrors {
                let paths = reader.sink.files.paths
                let named = paths.isEmpty ? "" : " in " + paths.joined(separator: ", ")
                reader.sink.error("empty-project", "no manifest documents found\(named) (empty, or only comments)", at: nil)
            }
            return nil
        }
        let stage = resolveVariables()
        let version = checkVersion()
        let name = checkProjectName()
        prescanServices()
        var codeChecker = CodeChecker(root: root, files: reader.sink.files)

        // Defaults: checked once on their own, then merged quietly under each resource.
        var routes: [HTTPRoute] = []
        var functionDefaults: NodeRef?
        var serviceDefaults: NodeRef?
        let reportedBefore = reader.sink.diagnostics.count
        if let d = defaults["function"] {
            var scratch: [HTTPRoute] = []
            _ = reader.function("", d.value, KeyPath("defaults", "function"), partial: true, routes: &scratch, codeChecker: &codeChecker)
            functionDefaults = d.value
        }
        if let d = defaults["service"] {
            _ = reader.service("", d.value, KeyPath("defaults", "service"), partial: true, codeChecker: &codeChecker)
            serviceDefaults = d.value
        }
        reader.reportedInDefaults = Set(reader.sink.diagnostics[reportedBefore...].map(Reader.Reported.init))

        // Functions are independent of one another once variables, defaults and service ports
        // are known, so large projects read them on every core; results keep source order.
        phase("settings")
        let functionEntries = entries("functions")
        var functions: [Function] = []
        var functionReferences: [String: Set<String>] = [:]
        let template = reader
        let checker = codeChecker
        let defaults = functionDefaults
        let functionBatches = ProjectAssembler.inParallel(functionEntries.count, minimum: 2_000, filling: &functions) { range, output in
            var batch = FunctionBatch(reader: template, codeChecker: checker)
            batch.reader.sink = DiagnosticSink(files: template.sink.files)
            for entry in functionEntries[range] {
                if let fn = batch.read(entry, defaults: defaults) { output.append(fn) }
            }
            return batch
        }
        for batch in functionBatches {
            routes += batch.routes
            functionReferences.merge(batch.references) { $1 }
            reader.sink.append(contentsOf: batch.reader.sink.diagnostics)
        }

        phase("functions")
        var services: [Service] = []
        var graph = DependencyGraph()
        var serviceReferences: [String: [String]] = [:]
        for entry in entries("services") {
            let path = KeyPath("services", entry.name)
            reader.serviceReferences = []
            let read = reader.service(entry.name, entry.value, path, defaults: serviceDefaults?.pairs, codeChecker: &codeChecker)
            let address = "service.\(entry.name)"
            graph.declare(address, at: entry.key)
            // A service may name its own address (for callbacks): that orders nothing.
            let references = reader.serviceReferences.sorted().filter { $0 != entry.name }
            for reference in references {
                graph.add(address, "service.\(reference)", at: entry.key, path: path)
            }
            if !references.isEmpty { serviceReferences[address] = references }
            guard let (service, dependsOnNodes) = read else { continue }
            services.append(service)
            for (dependency, node) in dependsOnNodes.sorted(by: { $0.key < $1.key }) {
                let p = path / "dependsOn" / dependency
                if reader.context.servicePorts[dependency] == nil {
                    reader.error("unresolved-reference", "service '\(entry.name)' depends on unknown service '\(dependency)'\(Suggestion.suffix(dependency, in: reader.context.servicePorts.keys))", node, p)
                } else {
                    graph.add(address, "service.\(dependency)", at: node, path: p)
                }
            }
        }
        for (function, references) in functionReferences {
            for reference in references { graph.add("function.\(function)", "service.\(reference)", at: nil, path: nil) }
            serviceReferences["function.\(function)"] = references.sorted()
        }

        let functionNames = Set(entries("functions").map(\.name))
        let serviceNames = Set(entries("services").map(\.name))
        var scaling: [ScalingPolicy] = []
        for entry in entries("scaling") {
            let path = KeyPath("scaling", entry.name)
            guard let read = reader.scalingPolicy(entry.name, entry.value, path), let target = read.target else { continue }
            if checkReference(target, at: read.targetNode ?? entry.key, path / "target", from: "scaling policy '\(entry.name)'", functions: functionNames, services: serviceNames), let policy = read.policy {
                scaling.append(policy)
            }
        }
        checkScalingTargets(scaling)

        phase("services")
        var rules: [Rule] = []
        let ruleEntries = entries("rules")
        let ruleTemplate = reader
        var ruleResults: [(Rule, references: [TargetReference])?] = []
        let ruleDiagnostics = ProjectAssembler.inParallel(ruleEntries.count, minimum: 2_000, filling: &ruleResults) { range, output in
            var batchReader = ruleTemplate
            batchReader.sink = DiagnosticSink(files: ruleTemplate.sink.files)
            for entry in ruleEntries[range] { output.append(batchReader.rule(entry.name, entry.value, KeyPath("rules", entry.name))) }
            return batchReader.sink.diagnostics
        }
        for diagnostics in ruleDiagnostics { reader.sink.append(contentsOf: diagnostics) }
        for (index, entry) in ruleEntries.enumerated() {
            // Moved out, not copied: the results are not needed afterwards.
            guard let (rule, references) = ruleResults[index].take() else { continue }
            var ok = true
            for reference in references where !checkReference(reference.address, at: reference.node, reference.keyPath(in: KeyPath("rules", entry.name)), from: "rule '\(entry.name)'", functions: functionNames, services: serviceNames) {
                ok = false
            }
            for target in rule.targets where target.kind == .service {
                if let service = services.first(where: { $0.name == target.name }), service.port == nil {
                    reader.sink.error("invalid-target", "rule '\(entry.name)' targets service '\(target.name)', which has no 'port' to deliver events to", at: references.first { $0.address == target.address }?.node.range, path: KeyPath("rules", entry.name, "targets"))
                    ok = false
                }
            }
            if ok { rules.append(rule) }
        }

        phase("rules")
        let estimates = readEstimates()
        let pricing = readPricing()
        let usage = readUsage(functions: functionNames)

        checkPorts(services)
        checkRoutes(routes)
        for cycle in graph.cycles() {
            reader.sink.error("dependency-cycle", "dependency cycle: \(cycle.addresses.joined(separator: " → "))", at: cycle.node?.range, path: cycle.path)
        }

        phase("checks")
        defer { phase("project") }
        guard let version, let name else { return nil }
        var project = Project(
            version: version, name: name, stage: stage, directory: codeChecker.root,
            variables: reader.context.variables.mapValues(\.manifestText),
            functions: ProjectAssembler.byName(functions, \.name), services: ProjectAssembler.byName(services, \.name),
            scaling: ProjectAssembler.byName(scaling, \.name), rules: ProjectAssembler.byName(rules, \.name),
            estimates: estimates, pricing: pricing, usage: usage)
        project.serviceReferences = serviceReferences
        return project
    }

    /// Runs `work` over `0..<count` split into one range per core (a single range below
    /// `minimum`), and returns the results in range order.
    static func inParallel<Result: Sendable>(_ count: Int, minimum: Int, _ work: @Sendable (Range<Int>) -> Result) -> [Result] {
        let ranges = ranges(count, minimum: minimum)
        guard ranges.count > 1 else { return [work(0..<count)] }
        var results = [Result?](repeating: nil, count: ranges.count)
        results.withUnsafeMutableBufferPointer { buffer in
            let slots = DisjointSlots(buffer)
            DispatchQueue.concurrentPerform(iterations: ranges.count) { index in
                slots[index] = work(ranges[index])
            }
        }
        return results.map { $0! }
    }

    /// Like ``inParallel(_:minimum:_:)``, where each worker also produces at most one element
    /// per index of its range: it appends them to its part of `elements`, which is built in
    /// place (in range order, without gaps) instead of being copied together from each part.
    static func inParallel<Element, Result: Sendable>(
        _ count: Int, minimum: Int, filling elements: inout [Element],
        _ work: @Sendable (Range<Int>, inout ParallelOutput<Element>) -> Result
    ) -> [Result] {
        elements = []
        guard count > 0 else { return [] }
        var results: [Result] = []
        elements = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            let slots = DisjointSlots(buffer)
            let outcomes = inParallel(count, minimum: minimum) { range in
                var output = slots.output(for: range)
                let result = work(range, &output)
                return (result, output)
            }
            // Close the gaps left by indices that produced nothing.
            initialized = 0
            for (result, output) in outcomes {
                let end = buffer.baseAddress! + initialized
                if output.base != end { end.moveInitialize(from: output.base, count: output.count) }
                initialized += output.count
                results.append(result)
            }
        }
        return results
    }

    /// One range per core (at most 8), or a single range below `minimum`.
    static func ranges(_ count: Int, minimum: Int) -> [Range<Int>] {
        let cores = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        guard count >= minimum, cores > 1 else { return [0..<count] }
        let size = (count + cores - 1) / cores
        return stride(from: 0, to: count, by: size).map { $0..<min(count, $0 + size) }
    }

    /// Resources in name order. Manifests are often written in order already; checking that
    /// first saves moving large values around.
    static func byName<T>(_ items: [T], _ name: (T) -> String) -> [T] {
        var sorted = true
        var previous: String?
        for item in items {
            let current = name(item)
            if let p = previous, !(p < current) { sorted = false; break }
            previous = current
        }
        return sorted ? items : items.sorted { name($0) < name($1) }
    }

    // MARK: Collecting documents

    mutating func collect(_ document: NodeRef) {
        if document.isNull { return }
        firstDocument = firstDocument ?? document
        guard case .mapping(let pairs) = document.kind else {
            reader.sink.error("type-mismatch", "a manifest document must be a mapping with keys such as 'version', 'project' and 'functions', got \(document.typeDescription)", at: document.range)
            return
        }
        for pair in pairs {
            let key = pair.key.scalar!.text
            let path = KeyPath(key)
            switch key {
            case "version": versionNodes.append(pair.value)
            case "project": projectNodes.append(pair.value)
            case "functions", "services", "scaling", "rules", "usage":
                let kind = ProjectAssembler.kindNames[key]!
                // One mapping cannot repeat a name (the loader refuses duplicate keys), so the
                // index of names is needed only once a second document adds to this section.
                let needsIndex = sections[key] != nil
                if needsIndex && firstDeclaration[key] == nil {
                    var index: [String: NodeRef] = [:]
                    for entry in sections[key]! { index[entry.name] = entry.key }
                    firstDeclaration[key] = index
                }
                let entries = reader.namedEntries(pair.value, path, "'\(key)'")
                // Filled outside the dictionary: a section may hold a hundred thousand entries.
                var section = sections.removeValue(forKey: key) ?? []
                defer { sections[key] = section }
                section.reserveCapacity(section.count + (pair.value.pairs?.count ?? 0))
                for entry in entries {
                    let name = entry.key.scalar!.text
                    if needsIndex {
                        if let first = firstDeclaration[key]?[name] {
                            reader.sink.error("duplicate-name", "\(kind) '\(name)' is declared twice; first at \(location(first))", at: entry.key.range, path: path / name)
                            continue
                        }
                        firstDeclaration[key, default: [:]][name] = entry.key
                    }
                    if key != "usage", !ProjectAssembler.isResourceName(name) {
                        reader.sink.error("invalid-name", "\(kind) name '\(name.truncatedForMessage)' must start with a letter and hold only letters, digits, '-' and '_' (at most 64)", at: entry.key.range, path: path / name)
                        continue
                    }
                    section.append(Entry(name: name, key: entry.key, value: entry.value))
                }
            case "variables":
                variablesKey = variablesKey ?? pair.key
                for stage in reader.namedEntries(pair.value, path, "'variables'") {
                    let stageName = stage.key.scalar!.text
                    stageKeys[stageName] = stageKeys[stageName] ?? stage.key
                    for variable in reader.namedEntries(stage.value, path / stageName, "variables stage '\(stageName)'") {
                        let name = variable.key.scalar!.text
                        let section = "variables." + stageName
                        if let first = firstDeclaration[section]?[name] {
                            reader.sink.error("duplicate-name", "variable '\(name)' of stage '\(stageName)' is declared twice; first at \(location(first))", at: variable.key.range, path: path / stageName / name)
                            continue
                        }
                        firstDeclaration[section, default: [:]][name] = variable.key
                        variableStages[stageName, default: []].append(Entry(name: name, key: variable.key, value: variable.value))
                    }
                }
            case "defaults":
                guard let fields = reader.mapping(pair.value, path, "'defaults'", keys: Project.defaultsKeys) else { continue }
                for entry in pair.value.pairs ?? .empty {
                    let kind = entry.key.scalar!.text
                    guard fields.has(kind) else { continue }
                    if let first = defaults[kind] {
                        reader.sink.error("duplicate-name", "defaults.\(kind) is declared twice; first at \(location(first.key))", at: entry.key.range, path: path / kind)
                        continue
                    }
                    defaults[kind] = Entry(name: kind, key: entry.key, value: entry.value)
                }
            case "estimates", "pricing":
                let keys = key == "estimates" ? Estimates.keys : Pricing.keys
                guard let fields = reader.mapping(pair.value, path, "'\(key)'", keys: keys) else { continue }
                for entry in pair.value.pairs ?? .empty {
                    let sub = entry.key.scalar!.text
                    guard fields.has(sub) else { continue }
                    if let first = settings[key]?[sub] {
                        reader.sink.error("duplicate-name", "\(key).\(sub) is declared twice; first at \(location(first.key))", at: entry.key.range, path: path / sub)
                        continue
                    }
                    settings[key, default: [:]][sub] = Entry(name: sub, key: entry.key, value: entry.value)
                }
            default:
                if Reader.isExtensionKey(key) { continue }
                reader.sink.error("unknown-key", "unknown top-level key '\(key.truncatedForMessage)'\(Suggestion.suffix(key, in: Project.keys))", at: pair.key.range, path: path)
            }
        }
    }

    func location(_ node: NodeRef) -> String {
        "\(reader.sink.files.path(node.range.file)):\(node.range.start.line):\(node.range.start.column)"
    }

    func entries(_ section: String) -> [Entry] { sections[section] ?? [] }

    /// ASCII letter first, then letters, digits, `-` and `_`; at most 64 bytes.
    static func isResourceName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard utf8.count <= 64, let first = utf8.first, ASCII.isLetter(first) else { return false }
        return utf8.allSatisfy { ASCII.isLetter($0) || ASCII.isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    // MARK: Project-level keys

    mutating func checkVersion() -> Int? {
        guard !versionNodes.isEmpty else {
            reader.sink.error("missing-key", "the project is missing required key 'version' (write 'version: 1')", at: firstDocumentRange(), path: KeyPath("version"))
            return nil
        }
        var result: Int?
        for node in versionNodes {
            guard let v = reader.int(node, KeyPath("version"), "the project") else { continue }
            if v != 1 {
                reader.sink.error("unsupported-version", "unsupported manifest version \(v); this kumo reads version 1", at: node.range, path: KeyPath("version"))
            } else {
                result = 1
            }
        }
        return reader.sink.hasErrors && result == nil ? nil : result
    }

    /// Where a project-wide problem is reported: the start of the first document.
    func firstDocumentRange() -> SourceRange? {
        guard let range = firstDocument?.range else { return nil }
        return SourceRange(file: range.file, start: range.start, end: range.start)
    }

    mutating func checkProjectName() -> String? {
        guard !projectNodes.isEmpty else {
            reader.sink.error("missing-key", "the project is missing required key 'project' (its name)", at: firstDocumentRange(), path: KeyPath("project"))
            return nil
        }
        var name: String?
        for node in projectNodes {
            guard let value = reader.string(node, KeyPath("project"), "the project") else { continue }
            guard ProjectAssembler.isResourceName(value) else {
                reader.sink.error("invalid-name", "project name '\(value.truncatedForMessage)' must start with a letter and hold only letters, digits, '-' and '_'", at: node.range, path: KeyPath("project"))
                continue
            }
            if let name, name != value {
                reader.sink.error("conflicting-project", "project name '\(value)' differs from '\(name)' declared in another document; all files of a project must agree", at: node.range, path: KeyPath("project"))
                continue
            }
            name = value
        }
        return name
    }

    // MARK: Variables

    /// Builds the variable table: `default`, overlaid by the stage, overlaid by `--var`.
    mutating func resolveVariables() -> String {
        let stage = options.stage ?? "default"
        if stage != "default", variableStages[stage] == nil, stageKeys[stage] == nil {
            let known = stageKeys.keys.filter { $0 != "default" }.sorted()
            let list = known.isEmpty ? "none are defined" : "defined: \(known.joined(separator: ", "))"
            reader.sink.error("unknown-stage", "stage '\(stage)' is not defined under 'variables' (\(list))\(Suggestion.suffix(stage, in: known))", at: variablesKey?.range, path: KeyPath("variables"))
        }
        var raw: [String: Entry] = [:]
        for entry in variableStages["default"] ?? [] { raw[entry.name] = entry }
        if stage != "default" { for entry in variableStages[stage] ?? [] { raw[entry.name] = entry } }
        var resolved: [String: Text] = [:]
        for (name, value) in options.variables { resolved[name] = Text(value) }
        func path(_ name: String) -> KeyPath {
            let own = stage != "default" && (variableStages[stage]?.contains { $0.name == name } ?? false)
            return KeyPath("variables", own ? stage : "default", name)
        }
        // Variables may use other variables; a cycle is one error naming it, and every variable
        // on or behind it is left unresolved without further messages.
        var graph = DependencyGraph()
        for (name, entry) in raw where resolved[name] == nil {
            graph.declare(name, at: entry.value)
            for reference in ProjectAssembler.variableReferences(in: entry.value.scalar?.text ?? "") where raw[reference] != nil && resolved[reference] == nil {
                graph.add(name, reference, at: entry.value, path: path(name))
            }
        }
        var broken: Set<String> = []
        for cycle in graph.cycles() {
            reader.sink.error("variable-cycle", "variables refer to each other in a cycle: \(cycle.addresses.joined(separator: " → "))", at: cycle.node?.range, path: cycle.path)
            broken.formUnion(cycle.addresses)
        }
        var visiting: Set<String> = []
        func resolve(_ name: String) {
            guard resolved[name] == nil, !broken.contains(name), let entry = raw[name], visiting.insert(name).inserted else { return }
            defer { visiting.remove(name) }
            guard case .scalar(let scalar) = entry.value.kind, !scalar.isNull else {
                reader.mismatch(entry.value, path(name), "the variables", expected: "a string, number or boolean")
                broken.insert(name)
                return
            }
            for reference in ProjectAssembler.variableReferences(in: scalar.text) { resolve(reference) }
            reader.context.variables = resolved
            reader.context.brokenVariables = broken
            if let value = reader.interpolate(scalar.text, at: entry.value, path(name), allow: [.secret]) {
                resolved[name] = value
            } else {
                broken.insert(name)
            }
        }
        for name in raw.keys.sorted() { resolve(name) }
        // A `--var` the manifest never declares is most likely a typo of one it does.
        let declared = Set(variableStages.values.flatMap { $0.map(\.name) })
        for name in options.variables.keys.sorted() where !declared.contains(name) {
            reader.sink.warning("unknown-variable", "--var \(name): no stage under 'variables' declares '\(name)'\(Suggestion.suffix(name, in: declared.sorted()))", at: nil)
        }
        reader.context.variables = resolved
        reader.context.brokenVariables = broken
        return stage
    }

    static func variableReferences(in text: String) -> [String] {
        var result: [String] = []
        var rest = Substring(text)
        while let range = rest.firstRange(of: "${var:") {
            let after = rest[range.upperBound...]
            // `$${var:x}` is the literal text `${var:x}`, not a reference.
            if range.lowerBound > rest.startIndex, rest[rest.index(before: range.lowerBound)] == "$" {
                rest = after
                continue
            }
            guard let close = after.firstIndex(of: "}") else { break }
            result.append(String(after[..<close]).trimmingSpaces)
            rest = after[close...]
        }
        return result
    }

    // MARK: Services and references

    /// Records each service's front port so `${service:NAME.url}` can resolve in any order.
    mutating func prescanServices() {
        for entry in entries("services") {
            var port: Int?
            if let node = portNode(of: entry) {
                // Read as the service will read it (interpolation included), without reporting:
                // the service's own read reports any problem at the port.
                var scratch = reader
                scratch.sink = DiagnosticSink(files: reader.sink.files)
                if let value = scratch.int(node, KeyPath("services", entry.name, "port"), "service '\(entry.name)'", in: Service.portRange) {
                    port = value
                } else {
                    reader.context.servicesWithInvalidPort.insert(entry.name)
                }
            }
            reader.context.servicePorts[entry.name] = .some(port)
        }
    }

    /// A service's `port` node: its own, or the one from `defaults.service`.
    func portNode(of entry: Entry) -> NodeRef? {
        entry.value["port"] ?? defaults["service"]?.value["port"]
    }

    mutating func checkReference(_ address: String, at node: NodeRef, _ path: @autoclosure () -> KeyPath, from: @autoclosure () -> String, functions: Set<String>, services: Set<String>) -> Bool {
        // `kind.name`, split at the first dot.
        guard let dot = address.firstIndex(of: "."), address.index(after: dot) != address.endIndex else {
            reader.error("invalid-reference", "\(from()) refers to '\(address)', which names no resource; expected an address such as service.api or function.createOrder", node, path())
            return false
        }
        let kind = address[..<dot]
        let name = String(address[address.index(after: dot)...])
        let names = kind == "function" ? functions : services
        if names.contains(name) { return true }
        let suggestion = Suggestion.closest(to: name, in: names)
        reader.error("unresolved-reference", "\(from()) refers to unknown \(kind) '\(name)'\(suggestion.map { "; did you mean '\($0)'?" } ?? "")", node, path())
        return false
    }

    mutating func checkScalingTargets(_ policies: [ScalingPolicy]) {
        var seen: [String: ScalingPolicy] = [:]
        for policy in policies {
            if let first = seen[policy.target] {
                reader.sink.error("duplicate-scaling", "scaling policies '\(first.name)' and '\(policy.name)' both target \(policy.target); a resource takes one policy", at: policy.range, path: KeyPath("scaling", policy.name, "target"))
            } else {
                seen[policy.target] = policy
            }
        }
    }

    mutating func checkPorts(_ services: [Service]) {
        var used: [Int: (String, SourceRange)] = [:]
        for entry in entries("services") {
            guard let service = services.first(where: { $0.name == entry.name }), let port = service.port, let node = portNode(of: entry) else { continue }
            if let (other, range) = used[port] {
                reader.sink.error("port-conflict", "service '\(service.name)' uses port \(port), already used by service '\(other)' at \(reader.sink.files.path(range.file)):\(range.start.line):\(range.start.column)", at: node.range, path: KeyPath("services", service.name, "port"))
            } else {
                used[port] = (service.name, node.range)
            }
        }
    }

    mutating func checkRoutes(_ routes: [HTTPRoute]) {
        // Shape → the route that claimed it, per method (in `Function.httpMethods` order); ANY
        // claims and collides with every method. One lookup per route.
        struct Claims {
            var routes = InlineArray<8, Int32>(repeating: -1)

            /// The route already holding `method` (ANY: any method, in order), or nil after
            /// claiming it for `route`.
            mutating func claim(_ method: Int, for route: Int) -> Int? {
                let any = Function.httpMethods.count - 1
                if method == any {
                    for i in 0...any where routes[i] >= 0 { return Int(routes[i]) }
                } else if routes[method] >= 0 || routes[any] >= 0 {
                    return Int(routes[method] >= 0 ? routes[method] : routes[any])
                }
                routes[method] = Int32(route)
                return nil
            }
        }
        precondition(Function.httpMethods.count == 8 && Function.httpMethods.last == "ANY")
        var seen: [String: Claims] = [:]
        seen.reserveCapacity(routes.count)
        for (index, route) in routes.enumerated() {
            let method = Function.httpMethods.firstIndex(of: route.method)!
            guard let other = seen[route.shape, default: Claims()].claim(method, for: index).map({ routes[$0] }) else { continue }
            let place = "\(reader.sink.files.path(other.range.file)):\(other.range.start.line):\(other.range.start.column)"
            reader.sink.error("route-conflict", "http trigger \(route.method) \(route.path) of function '\(route.function)' conflicts with \(other.method) \(other.path) of function '\(other.function)' at \(place)", at: route.range, path: route.keyPath)
        }
    }

    /// A route with parameter names erased: `/orders/{id}` and `/orders/{orderId}` are one route.
    static func routeShape(_ path: String) -> String {
        guard path.utf8.contains(UInt8(ascii: "{")) else { return path }
        var out: [UInt8] = []
        out.reserveCapacity(path.utf8.count)
        var inParameter = false
        var greedy = false
        for byte in path.utf8 {
            if inParameter {
                if byte == UInt8(ascii: "}") {
                    out += greedy ? Array("{+}".utf8) : Array("{}".utf8)
                    inParameter = false
                }
                greedy = byte == UInt8(ascii: "+")
            } else if byte == UInt8(ascii: "{") {
                inParameter = true
                greedy = false
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Defaults

    /// Deep-merges `over` onto `base` into `tree`: scalars override, mappings merge, lists
    /// replace. Only the merged mappings are new nodes; their other children are the originals.
    static func merged(_ base: NodeRef?, _ over: NodeRef, into tree: Tree) -> NodeRef {
        guard let base, case .mapping(let basePairs) = base.kind, case .mapping(let overPairs) = over.kind else { return over }
        // Built on the stack: every function merges its environment with the defaults'.
        return withUnsafeTemporaryAllocation(of: NodeRef.self, capacity: 2 * (basePairs.count + overPairs.count)) { result in
            withUnsafeTemporaryAllocation(of: Bool.self, capacity: basePairs.count) { used in
                used.initialize(repeating: false)
                var count = 0
                func add(_ key: NodeRef, _ value: NodeRef) {
                    result.initializeElement(at: count, to: key)
                    result.initializeElement(at: count + 1, to: value)
                    count += 2
                }
                for pair in overPairs {
                    let key = pair.key.scalar!.bytes
                    if let i = basePairs.firstIndex(where: { ScalarRef.same($0.key.scalar!.bytes, key) }) {
                        used[i] = true
                        add(pair.key, merged(basePairs[i].value, pair.value, into: tree))
                    } else {
                        add(pair.key, pair.value)
                    }
                }
                for (i, pair) in basePairs.enumerated() where !used[i] { add(pair.key, pair.value) }
                return tree.appendMapping(result[..<count], range: over.range)
            }
        }
    }

    // MARK: Settings

    mutating func readEstimates() -> Estimates {
        var estimates = Estimates.builtIn
        for (key, entry) in (settings["estimates"] ?? [:]).sorted(by: { $0.key < $1.key }) {
            let path = KeyPath("estimates", key)
            let ctx = "estimates.\(key)"
            guard let f = reader.mapping(entry.value, path, ctx, keys: key == "rules" ? Estimates.Line.ruleKeys : Estimates.Line.keys) else { continue }
            let base: Estimates.Line = key == "functions" ? estimates.functions : key == "services" ? estimates.services : estimates.rules
            var line = base
            line.source = .manifest
            let bounds = Estimates.Line.range
            if let n = f["init"], let v = reader.duration(n, path / "init", ctx, in: bounds) { line.initial = v }
            if let n = f["each"], let v = reader.duration(n, path / "each", ctx, in: bounds) { line.each = v }
            if let n = f["register"], let v = reader.duration(n, path / "register", ctx, in: bounds) { line.register = v }
            if let n = f["remove"], let v = reader.duration(n, path / "remove", ctx, in: bounds) { line.remove = v }
            if let n = f["stop"], let v = reader.duration(n, path / "stop", ctx, in: bounds) { line.stop = v }
            if let n = f["parallelism"], let v = reader.int(n, path / "parallelism", ctx, in: Estimates.Line.parallelismRange) { line.parallelism = v }
            switch key {
            case "functions": estimates.functions = line
            case "services": estimates.services = line
            default: estimates.rules = line
            }
        }
        return estimates
    }

    mutating func readPricing() -> Pricing {
        var pricing = Pricing.builtIn
        let entries = settings["pricing"] ?? [:]
        if let region = entries["region"] {
            if let name = reader.string(region.value, KeyPath("pricing", "region"), "pricing") {
                if let table = Pricing.regions[name] {
                    pricing = table
                } else {
                    reader.error("invalid-value", "'region' in pricing: no built-in price table for '\(name)' (known: \(Pricing.regions.keys.sorted().joined(separator: ", ")))\(Suggestion.suffix(name, in: Pricing.regions.keys))", region.value, KeyPath("pricing", "region"))
                }
            }
        }
        if let entry = entries["functions"] {
            let path = KeyPath("pricing", "functions")
            if let f = reader.mapping(entry.value, path, "pricing.functions", keys: Pricing.functionKeys) {
                if let n = f["perGbSecond"], let v = reader.number(n, path / "perGbSecond", "pricing.functions", in: Pricing.priceBounds) { pricing.perGbSecond = v }
                if let n = f["perMillionRequests"], let v = reader.number(n, path / "perMillionRequests", "pricing.functions", in: Pricing.priceBounds) { pricing.perMillionRequests = v }
            }
        }
        if let entry = entries["services"] {
            let path = KeyPath("pricing", "services")
            if let f = reader.mapping(entry.value, path, "pricing.services", keys: Pricing.serviceKeys) {
                if let n = f["perVcpuHour"], let v = reader.number(n, path / "perVcpuHour", "pricing.services", in: Pricing.priceBounds) { pricing.perVcpuHour = v }
                if let n = f["perGbHour"], let v = reader.number(n, path / "perGbHour", "pricing.services", in: Pricing.priceBounds) { pricing.perGbHour = v }
            }
        }
        return pricing
    }

    mutating func readUsage(functions: Set<String>) -> [String: Usage] {
        var usage: [String: Usage] = [:]
        for entry in entries("usage") {
            let path = KeyPath("usage", entry.name)
            let ctx = "usage of '\(entry.name)'"
            guard entry.name.hasPrefix("function.") else {
                reader.sink.error("invalid-reference", "usage key '\(entry.name.truncatedForMessage)' must be a function address such as function.createOrder (services are priced by replicas)", at: entry.key.range, path: path)
                continue
            }
            let name = String(entry.name.dropFirst("function.".count))
            guard functions.contains(name) else {
                reader.sink.error("unresolved-reference", "usage refers to unknown function '\(name)'\(Suggestion.suffix(name, in: functions))", at: entry.key.range, path: path)
                continue
            }
            guard let f = reader.mapping(entry.value, path, ctx, keys: Usage.keys) else { continue }
            let requests = reader.required(f, "monthlyRequests", path, ctx).flatMap { reader.int($0, path / "monthlyRequests", ctx, in: Usage.monthlyRequestsRange) }
            let duration = reader.required(f, "averageDuration", path, ctx).flatMap { reader.duration($0, path / "averageDuration", ctx, in: Usage.averageDurationRange) }
            if let requests, let duration { usage[entry.name] = Usage(monthlyRequests: requests, averageDuration: duration) }
        }
        return usage
    }
}
