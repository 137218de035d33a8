import KumoEvents

extension Function {
    /// Variables the runtime sets for every worker (the Lambda-standard ones); users may not set them.
    static func isReservedEnvironment(_ name: String) -> Bool {
        let utf8 = name.utf8
        // Every reserved name starts with one of these: most names are rejected on one byte.
        guard let first = utf8.first, first == UInt8(ascii: "_") || first == UInt8(ascii: "A") || first == UInt8(ascii: "L") || first == UInt8(ascii: "K") else { return false }
        if utf8.starts(with: "AWS_LAMBDA_".utf8) || utf8.starts(with: "KUMO_".utf8) { return true }
        return name == "_HANDLER" || name == "AWS_EXECUTION_ENV" || name == "LAMBDA_TASK_ROOT"
            || name == "LAMBDA_RUNTIME_DIR" || name == "_X_AMZN_TRACE_ID"
    }

    static let httpMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"]
}

/// A function's http trigger as read, with its position, for the route-conflict check.
///
/// Every function with an http trigger has one, so it holds only what the check compares; the
/// key path of a conflict is built when one is reported.
struct HTTPRoute: Sendable {
    var function: String
    var method: String
    var path: String
    /// The path with parameter names erased (computed by the worker that read it).
    var shape: String
    var range: SourceRange
    /// The index of the trigger in the function's `events`.
    var event: Int

    var keyPath: KeyPath {
        KeyPath([.key("functions"), .key(function), .key("events"), .index(event), .key("http")])
    }
}

extension Reader {
    /// Reads a function. `partial` reads `defaults.function`: no required keys, no cross-checks.
    mutating func function(_ name: String, _ node: NodeRef, _ path: @autoclosure () -> KeyPath, partial: Bool = false, defaults: NodeRef.Pairs? = nil, routes: inout [HTTPRoute], codeChecker: inout CodeChecker) -> Function? {
        func ctx() -> String { partial ? "defaults.function" : "function '\(name)'" }
        guard let f = mapping(node, path(), ctx(), keys: Function.keys, defaults: defaults) else { return nil }
        var ok = true
        var runtime: FunctionRuntime?
        if let n = f["runtime"] {
            runtime = choice(n, path() / "runtime", ctx(), as: FunctionRuntime.self)
            if runtime == nil { ok = false }
        } else if !partial {
            _ = required(f, "runtime", path(), ctx(), because: " (python3, node, provided or exec)")
            ok = false
        }
        var fn = Function(
            name: name, runtime: runtime ?? .python3, command: [], memory: Function.defaultMemory,
            timeout: Function.defaultTimeout, environment: [:], concurrency: Function.defaultConcurrency,
            minInstances: Function.defaultMinInstances, idleTimeout: Function.defaultIdleTimeout, events: [], range: node.range)
        if let n = f["description"] { fn.description = string(n, path() / "description", ctx()) }
        if let n = f["handler"] {
            if let h = string(n, path() / "handler", ctx()) {
                fn.handler = h
                if runtime == .python3 || runtime == .node, !Reader.isHandler(h) {
                    error("invalid-value", "'handler' in \(ctx()): expected module.function (such as app.handler), got '\(h.truncatedForMessage)'", n, path() / "handler")
                    ok = false
                }
            } else { ok = false }
        }
        if let n = f["code"] {
            if let c = string(n, path() / "code", ctx()), let resolved = codeChecker.check(c, at: n, path() / "code", ctx(), reader: &self) {
                fn.code = resolved
            } else { ok = false }
        }
        if let n = f["command"] {
            if let c = command(n, path() / "command", ctx(), allow: [.secret]) { fn.command = c } else { ok = false }
        }
        if let n = f["image"] {
            if let v = string(n, path() / "image", ctx()) { fn.image = v } else { ok = false }
        }
        if let n = f["memory"] {
            if let v = size(n, path() / "memory", ctx(), in: Function.memoryRange) { fn.memory = v } else { ok = false }
        }
        if let n = f["timeout"] {
            if let v = duration(n, path() / "timeout", ctx(), in: Function.timeoutRange) { fn.timeout = v } else { ok = false }
        }
        if let n = f["environment"] {
            fn.environment = environment(n, path() / "environment", ctx(), allow: [.secret], reserved: Function.isReservedEnvironment)
        }
        if let n = f["concurrency"] {
            if let v = int(n, path() / "concurrency", ctx(), in: Function.concurrencyRange) { fn.concurrency = v } else { ok = false }
        }
        if let n = f["minInstances"] {
            if let v = int(n, path() / "minInstances", ctx(), in: Function.minInstancesRange) {
                fn.minInstances = v
                if !partial, v > fn.concurrency {
                    error("out-of-range", "'minInstances' in \(ctx()): \(v) warm instances exceed the concurrency cap of \(fn.concurrency)", n, path() / "minInstances")
                    ok = false
                }
            } else { ok = false }
        }
        if let n = f["idleTimeout"] {
            if let v = duration(n, path() / "idleTimeout", ctx(), in: Function.idleTimeoutRange) { fn.idleTimeout = v } else { ok = false }
        }
        if let n = f["events"] {
            if let events = functionEvents(n, path() / "events", ctx(), function: name, routes: &routes) { fn.events = events } else { ok = false }
        }
        if let n = f["invokeConfig"] {
            if let v = invokeConfig(n, path() / "invokeConfig", ctx()) { fn.invokeConfig = v } else { ok = false }
        }
        if !partial, let runtime {
            switch runtime {
            case .python3, .node:
                if fn.handler == nil, required(f, "handler", path(), ctx(), because: " (runtime \(runtime.rawValue) needs module.function)") == nil { ok = false }
                if fn.code == nil, f["code"] == nil { _ = required(f, "code", path(), ctx(), because: " (the directory holding the handler)"); ok = false }
                if let n = f["command"] {
                    error("unused-key", "'command' in \(ctx()) is not used by runtime \(runtime.rawValue); it runs 'handler'", n, path() / "command")
                    ok = false
                }
            case .provided:
                if f["command"] == nil {
                    if f["code"] == nil {
                        _ = required(f, "code", path(), ctx(), because: " (runtime provided runs code/bootstrap, or give 'command')")
                        ok = false
                    } else if let code = fn.code, let n = f["code"], !codeChecker.isExecutable(code + "/bootstrap") {
                        error("missing-bootstrap", "runtime provided needs an executable 'bootstrap' in '\(code)' for \(ctx()), or a 'command'", n, path() / "code")
                        ok = false
                    }
                }
            case .exec:
                if f["command"] == nil { _ = required(f, "command", path(), ctx(), because: " (runtime exec runs it once per invocation)"); ok = false }
                if let n = f["handler"] {
                    error("unused-key", "'handler' in \(ctx()) is not used by runtime exec; it runs 'command'", n, path() / "handler")
                    ok = false
                }
            }
        }
        // A resource with errors is still returned: cross-checks (references, ports, cycles)
        // then report their problems too, so every error surfaces in one run.
        assert(ok || sink.hasErrors || quietErrors > 0, "a field failed without a diagnostic")
        return fn
    }

    /// `module.function`, the module possibly a relative path (`lib/app.handler`).
    static func isHandler(_ text: String) -> Bool {
        let bytes = text.utf8
        guard let dot = bytes.lastIndex(of: UInt8(ascii: ".")), dot > bytes.startIndex else { return false }
        let function = bytes[bytes.index(after: dot)...]
        guard let first = function.first, first == UInt8(ascii: "_") || ASCII.isLetter(first),
            function.allSatisfy({ $0 == UInt8(ascii: "_") || ASCII.isLetter($0) || ASCII.isDigit($0) })
        else { return false }
        // The module: '/'-separated segments, none empty and none "..", of [A-Za-z0-9_.-].
        var length = 0
        var dots = 0
        for byte in bytes[..<dot] {
            if byte == UInt8(ascii: "/") {
                if length == 0 || (length == 2 && dots == 2) { return false }
                length = 0
                dots = 0
                continue
            }
            guard byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || ASCII.isLetter(byte) || ASCII.isDigit(byte) else { return false }
            length += 1
            if byte == UInt8(ascii: ".") { dots += 1 }
        }
        return length > 0 && !(length == 2 && dots == 2)
    }

    private mutating func functionEvents(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String, function: String, routes: inout [HTTPRoute]) -> [FunctionEvent]? {
        guard let items = list(node, path(), ctx()) else { return nil }
        var events: [FunctionEvent] = []
        var ok = true
        for (i, item) in items.enumerated() {
            func p() -> KeyPath { path() / i }
            guard let e = mapping(item, p(), "the events of \(ctx())", keys: FunctionEvent.keys) else { ok = false; continue }
            guard e.count == 1 else {
                if e.count == 0, item.pairs?.isEmpty == false { ok = false; continue }  // unknown key already reported
                error("invalid-event", "an event of \(ctx()) must have exactly one of 'http' or 'schedule'", item, p())
                ok = false
                continue
            }
            if let h = e["http"] {
                func hp() -> KeyPath { p() / "http" }
                guard let http = mapping(h, hp(), "the http trigger of \(ctx())", keys: FunctionEvent.httpKeys) else { ok = false; continue }
                var method: String?
                var route: String?
                if let m = required(http, "method", hp(), "the http trigger of \(ctx())") {
                    if let text = string(m, hp() / "method", ctx()) {
                        if Function.httpMethods.contains(text) {
                            method = text
                        } else {
                            error("invalid-value", "'method' in \(ctx()): expected one of \(Function.httpMethods.joined(separator: ", ")), got '\(text.truncatedForMessage)'\(Suggestion.suffix(text, in: Function.httpMethods))", m, hp() / "method")
                        }
                    }
                }
                if let r = required(http, "path", hp(), "the http trigger of \(ctx())") {
                    if let text = string(r, hp() / "path", ctx()) {
                        if let problem = Reader.routeProblem(text) {
                            error("invalid-route", "'path' in \(ctx()): \(problem)", r, hp() / "path")
                        } else {
                            route = text
                            if let method { routes.append(HTTPRoute(function: function, method: method, path: text, shape: ProjectAssembler.routeShape(text), range: h.range, event: i)) }
                        }
                    }
                }
                if let method, let route { events.append(.http(method: method, path: route)) } else { ok = false }
            } else if let s = e["schedule"] {
                guard let text = string(s, p() / "schedule", ctx()) else { ok = false; continue }
                if let schedule = schedule(text, s, p() / "schedule", ctx()) { events.append(.schedule(schedule)) } else { ok = false }
            }
        }
        return ok ? events : nil
    }

    /// The schedule `text` (parsed once per distinct text), or nil after reporting why not.
    mutating func schedule(_ text: String, _ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String) -> Schedule? {
        let parsed = knownSchedules[text] ?? Result { () throws(ScheduleError) in try Schedule(parsing: text) }
        knownSchedules[text] = parsed
        switch parsed {
        case .success(let schedule): return schedule
        case .failure(let problem):
            error("invalid-schedule", "invalid schedule '\(text.truncatedForMessage)' in \(ctx()): \(problem.message)", node, path())
            return nil
        }
    }

    /// Checks an http route: `/`, literal segments, `{param}`, and a final greedy `{proxy+}`.
    static func routeProblem(_ path: String) -> String? {
        // Fast path: plain ASCII literal segments and simple `{name}` parameters.
        if isSimpleRoute(path) { return nil }
        guard path.hasPrefix("/") else { return "a route must start with '/', got '\(path.truncatedForMessage)'" }
        if path == "/" { return nil }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        var names: Set<Substring> = []
        for (i, segment) in segments.enumerated() {
            if segment.isEmpty {
                if i == segments.count - 1 { return "a route must not end with '/'" }
                return "empty segment '//' in route '\(path)'"
            }
            if segment.first == "{" || segment.last == "}" || segment.contains("{") || segment.contains("}") {
                guard segment.first == "{", segment.last == "}" else { return "a path parameter must fill its segment, as in /orders/{id}: '\(segment)'" }
                var name = segment.dropFirst().dropLast()
                if name.hasSuffix("+") {
                    guard i == segments.count - 1 else { return "a greedy parameter '{\(name)}' must be the last segment" }
                    name = name.dropLast()
                }
                guard let first = name.first, first.isLetter || first == "_", name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    return "invalid path parameter name '\(segment)'"
                }
                if !names.insert(name).inserted { return "path parameter '{\(name)}' appears twice" }
            } else if !segment.allSatisfy({ $0.isLetter || $0.isNumber || "-._~:@!$&'()*+,;=%".contains($0) }) {
                return "invalid character in route segment '\(segment)'"
            }
        }
        return nil
    }

    /// True for `/seg/{param}/…` made of unreserved ASCII, with distinct parameter names and no
    /// empty segment; anything else takes the detailed check.
    static func isSimpleRoute(_ path: String) -> Bool {
        var bytes = path.utf8.makeIterator()
        guard bytes.next() == UInt8(ascii: "/") else { return false }
        var segmentLength = 0
        var parameters = 0
        var inParameter = false
        var previous: UInt8 = UInt8(ascii: "/")
        while let byte = bytes.next() {
            switch byte {
            case UInt8(ascii: "/"):
                if segmentLength == 0 || inParameter { return false }
                segmentLength = 0
            case UInt8(ascii: "{"):
                if segmentLength != 0 || inParameter { return false }
                inParameter = true
                parameters += 1
                segmentLength += 1
            case UInt8(ascii: "}"):
                if !inParameter || previous == UInt8(ascii: "{") { return false }
                inParameter = false
                segmentLength += 1
            default:
                guard ASCII.isLetter(byte) || ASCII.isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") else { return false }
                if previous == UInt8(ascii: "}") { return false }
                // Parameter names are identifiers; anything else takes the detailed check.
                if inParameter, !(ASCII.isLetter(byte) || byte == UInt8(ascii: "_") || (ASCII.isDigit(byte) && previous != UInt8(ascii: "{"))) { return false }
                segmentLength += 1
            }
            previous = byte
        }
        // A single parameter cannot repeat; more take the detailed check for duplicate names.
        return !inParameter && parameters <= 1 && (segmentLength > 0 || path == "/")
    }

    private mutating func invokeConfig(_ node: NodeRef, _ path: @autoclosure () -> KeyPath, _ ctx: @autoclosure () -> String) -> InvokeConfig? {
        guard let f = mapping(node, path(), "the invokeConfig of \(ctx())", keys: InvokeConfig.keys) else { return nil }
        var config = InvokeConfig.default
        var ok = true
        if let n = f["maximumRetryAttempts"] {
            if let v = int(n, path() / "maximumRetryAttempts", ctx(), in: InvokeConfig.retryAttemptsRange) { config.maximumRetryAttempts = v } else { ok = false }
        }
        if let n = f["maximumEventAge"] {
            if let v = duration(n, path() / "maximumEventAge", ctx(), in: InvokeConfig.eventAgeRange) { config.maximumEventAge = v } else { ok = false }
        }
        if let n = f["onFailure"] {
            if let v = choice(n, path() / "onFailure", ctx(), as: InvokeConfig.OnFailure.self) { config.onFailure = v } else { ok = false }
        }
        return ok ? config : nil
    }
}
