import Foundation
import KumoManifest
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// The function pools and `http` routes the gateway serves, kept by the runtime actor and read
/// by the gateway on the invoke loop.
final class FunctionDirectory: Sendable {
    private struct Contents {
        var pools: [String: FunctionPool] = [:]
        var routes = RouteTable()
    }

    private let contents = NIOLockedValueBox(Contents())

    func set(_ name: String, pool: FunctionPool?) {
        contents.withLockedValue { $0.pools[name] = pool }
    }

    func setRoutes(function: String, _ routes: [FunctionConfig.Route]) {
        contents.withLockedValue { $0.routes.set(function: function, routes: routes) }
    }

    func pool(_ name: String) -> FunctionPool? {
        contents.withLockedValue { $0.pools[name] }
    }

    func match(method: String, path: String) -> (route: FunctionConfig.Route, pool: FunctionPool, parameters: [String: String])? {
        contents.withLockedValue { contents in
            guard let (route, function, parameters) = contents.routes.match(method: method, path: path), let pool = contents.pools[function] else { return nil }
            return (route, pool, parameters)
        }
    }
}

/// The HTTP gateway on 127.0.0.1: `http` triggers (API Gateway HTTP API, payload format 2.0)
/// and the AWS Lambda Invoke API, so `boto3.client("lambda", endpoint_url=…)` works unchanged.
///
/// It runs on the invoke loop: a request is read, handed to its function's pool, and answered
/// from the pool's completion, all on that one thread.
struct Gateway: Sendable {
    let directory: FunctionDirectory
    let region: String
    let events: EventBus

    static let invokePrefix = "/2015-03-31/functions/"

    func handle(_ request: LoopRequest, _ handler: LoopHTTPHandler) {
        let path = request.path
        if request.head.method == .POST, let target = request.head.headers.first(name: "X-Amz-Target"), target.hasPrefix(Gateway.eventsPrefix) {
            eventsAPI(request, action: target.dropFirst(Gateway.eventsPrefix.count), handler)
        } else if path.hasPrefix(Gateway.invokePrefix) && request.head.method == .POST {
            invokeAPI(request, path: path, handler)
        } else {
            httpTrigger(request, path: path, handler)
        }
    }

    // MARK: Lambda Invoke API

    func invokeAPI(_ request: LoopRequest, path: Substring, _ handler: LoopHTTPHandler) {
        let parts = path.dropFirst(Gateway.invokePrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1] == "invocations" else {
            return handler.respond(Gateway.awsError(.notFound, "UnknownOperationException", "unknown operation \(path)"))
        }
        let reference = parts[0].contains("%") ? String(parts[0]).removingPercentEncoding ?? String(parts[0]) : String(parts[0])
        let name = Gateway.functionName(reference)
        let requestID = UUID().uuidString.lowercased()
        var headers = HTTPHeaders([("x-amzn-RequestId", requestID)])
        guard let pool = directory.pool(name) else {
            return handler.respond(Gateway.awsError(.notFound, "ResourceNotFoundException", "Function not found: arn:aws:lambda:\(region):000000000000:function:\(name)", headers: headers))
        }
        if request.tooLarge {
            return handler.respond(Gateway.awsError(.payloadTooLarge, "RequestEntityTooLargeException",
                                                    "Request must be smaller than \(FunctionPool.payloadLimit) bytes for the InvokeFunction operation", headers: headers))
        }
        let payload = request.body
        if !payload.isEmpty, !JSONCheck.isValid(payload) {
            return handler.respond(Gateway.awsError(.badRequest, "InvalidRequestContentException", "Could not parse request body into json", headers: headers))
        }
        let body = payload.isEmpty ? Array("{}".utf8) : payload
        switch request.head.headers.first(name: "X-Amz-Invocation-Type") ?? "RequestResponse" {
        case "DryRun":
            handler.respond(LoopResponse(status: .noContent, headers: headers))
        case "Event":
            // Durable, with the function's invokeConfig: the event bus keeps and delivers it.
            let bound = NIOLoopBound(handler, eventLoop: InvokeLoop.loop)
            let (loop, events) = (InvokeLoop.loop, self.events)
            Task {
                let response: LoopResponse
                do {
                    try await events.invokeAsync(function: name, payload: body, requestID: requestID)
                    response = LoopResponse(status: .accepted, headers: headers)
                } catch {
                    response = Gateway.awsError(.internalServerError, "ServiceException", "the invocation could not be queued: \(error)", headers: headers)
                }
                loop.execute { bound.value.respond(response) }
            }
        case "RequestResponse":
            headers.add(name: "X-Amz-Executed-Version", value: "$LATEST")
            pool.invoke(body, requestID: requestID) { outcome in
                switch outcome {
                case .success(let result):
                    handler.respond(.json(.ok, result, headers: headers))
                case .functionError(_, let error):
                    headers.add(name: "X-Amz-Function-Error", value: "Unhandled")
                    handler.respond(.json(.ok, error, headers: headers))
                case .throttled:
                    handler.respond(Gateway.awsError(.tooManyRequests, "TooManyRequestsException", "Rate Exceeded.", headers: headers, reason: "ReservedFunctionConcurrentInvocationLimitExceeded"))
                }
            }
        case let other:
            handler.respond(Gateway.awsError(.badRequest, "InvalidParameterValueException", "unsupported X-Amz-Invocation-Type '\(other)'", headers: headers))
        }
    }

    /// `name`, `name:qualifier`, or an ARN `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
    static func functionName(_ reference: String) -> String {
        let parts = reference.split(separator: ":").map(String.init)
        if parts.count >= 7, parts[0] == "arn" { return parts[6] }
        return parts.first ?? reference
    }

    static func awsError(_ status: HTTPResponseStatus, _ type: String, _ message: String, headers: HTTPHeaders = [:], reason: String? = nil) -> LoopResponse {
        var fields = headers
        fields.add(name: "x-amzn-ErrorType", value: type)
        var body: [(String, ConfigValue)] = [("Type", .string("User")), ("message", .string(message))]
        if let reason { body.append(("Reason", .string(reason))) }
        return .json(status, ConfigValue.object(body).compactJSON(), headers: fields)
    }

    // MARK: HTTP triggers

    func httpTrigger(_ request: LoopRequest, path: Substring, _ handler: LoopHTTPHandler) {
        let method = request.head.method.rawValue
        guard let (route, pool, parameters) = directory.match(method: method, path: String(path)) else {
            return handler.respond(.json(.notFound, "{\"message\":\"Not Found\"}"))
        }
        let requestID = UUID().uuidString.lowercased()
        let headers = HTTPHeaders([("apigw-requestid", requestID)])
        if request.tooLarge {
            return handler.respond(.json(.payloadTooLarge, "{\"message\":\"Request Entity Too Large\"}", headers: headers))
        }
        let event = Gateway.event(request, routeKey: "\(route.method) \(route.path)", parameters: parameters, requestID: requestID)
        pool.invoke(event.compactJSONBytes(), requestID: requestID) { outcome in
            switch outcome {
            case .success(let result):
                handler.respond(Gateway.response(from: result, requestID: requestID) { name in
                    pool.logs.write(pool.address, tag: requestID, "dropped response header '\(name.prefix(64))': not a valid header name, or its value has a control character")
                })
            case .functionError:
                handler.respond(.json(.internalServerError, "{\"message\":\"Internal Server Error\"}", headers: headers))
            case .throttled:
                handler.respond(.json(.tooManyRequests, "{\"message\":\"Too Many Requests\"}", headers: headers))
            }
        }
    }

    /// The API Gateway HTTP API event, payload format version 2.0.
    static func event(_ request: LoopRequest, routeKey: String, parameters: [String: String], requestID: String) -> ConfigValue {
        var headers: [String: [String]] = [:]
        var cookies: [String] = []
        for (name, value) in request.head.headers {
            let name = name.lowercased()
            if name == "cookie" {
                cookies += value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            } else {
                headers[name, default: []].append(value)
            }
        }
        let rawPath = String(request.path)
        let rawQuery = String(request.query ?? "")
        var query: [String: [String]] = [:]
        for pair in rawQuery.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(kv[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[0])
            let value = kv.count > 1 ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[1])) : ""
            query[key, default: []].append(value)
        }
        let now = Date()
        let body = request.body
        let isText = String(validating: body, as: UTF8.self) != nil
        var event: [(String, ConfigValue)] = [
            ("version", .string("2.0")),
            ("routeKey", .string(routeKey)),
            ("rawPath", .string(rawPath)),
            ("rawQueryString", .string(rawQuery)),
        ]
        if !cookies.isEmpty { event.append(("cookies", .array(cookies.map { .string($0) }))) }
        event.append(("headers", .object(headers.keys.sorted().map { ($0, .string(headers[$0]!.joined(separator: ","))) })))
        if !query.isEmpty {
            event.append(("queryStringParameters", .object(query.keys.sorted().map { ($0, .string(query[$0]!.joined(separator: ","))) })))
        }
        event.append(("requestContext", .object([
            ("accountId", .string("000000000000")),
            ("apiId", .string("kumo")),
            ("domainName", .string(headers["host"]?.first ?? "127.0.0.1")),
            ("domainPrefix", .string("kumo")),
            ("http", .object([
                ("method", .string(request.head.method.rawValue)),
                ("path", .string(rawPath)),
                ("protocol", .string("HTTP/1.1")),
                ("sourceIp", .string("127.0.0.1")),
                ("userAgent", .string(headers["user-agent"]?.first ?? "")),
            ])),
            ("requestId", .string(requestID)),
            ("routeKey", .string(routeKey)),
            ("stage", .string("$default")),
            ("time", .string(WallClock.apiGateway(now))),
            ("timeEpoch", .int(Int(now.timeIntervalSince1970 * 1000))),
        ])))
        if !parameters.isEmpty {
            event.append(("pathParameters", .object(parameters.keys.sorted().map { ($0, .string(parameters[$0]!)) })))
        }
        if !body.isEmpty {
            event.append(("body", .string(isText ? String(decoding: body, as: UTF8.self) : Data(body).base64EncodedString())))
        }
        event.append(("isBase64Encoded", .bool(!body.isEmpty && !isText)))
        return .object(event)
    }

    /// Maps a handler's result to HTTP as API Gateway does for payload format 2.0: an object
    /// with `statusCode` is a response; anything else is a 200 JSON body. Header names that are
    /// not HTTP tokens and values with control characters (line breaks included) are dropped,
    /// never written; `dropped` hears each one's name.
    static func response(from result: [UInt8], requestID: String, dropped: (String) -> Void = { _ in }) -> LoopResponse {
        var headers = HTTPHeaders([("apigw-requestid", requestID)])
        guard let value = try? ConfigValue(json: String(decoding: result, as: UTF8.self)), case .object = value, let status = value["statusCode"]?.intValue else {
            return .json(.ok, result, headers: headers)
        }
        // API Gateway answers 500 for a status it cannot send; a 1xx here would leave the
        // client waiting for a final answer.
        guard (200...599).contains(status) else {
            return .json(.internalServerError, "{\"message\":\"Internal Server Error\"}", headers: headers)
        }
        func add(_ name: String, _ text: String, replacing: Bool) {
            guard HeaderCheck.isToken(name), HeaderCheck.isValue(text) else { return dropped(name) }
            if replacing { headers.replaceOrAdd(name: name, value: text) } else { headers.add(name: name, value: text) }
        }
        for (name, field) in value["headers"]?.objectValue ?? [] {
            switch field {
            case .string(let s): add(name, s, replacing: true)
            case .int, .double, .bool: add(name, field.compactJSON(), replacing: true)
            default: continue
            }
        }
        for (name, values) in value["multiValueHeaders"]?.objectValue ?? [] {
            for item in values.arrayValue ?? [] { add(name, item.stringValue ?? item.compactJSON(), replacing: false) }
        }
        for cookie in value["cookies"]?.arrayValue ?? [] {
            if let text = cookie.stringValue { add("Set-Cookie", text, replacing: false) }
        }
        var bytes: [UInt8] = []
        if let body = value["body"] {
            let string = body.stringValue ?? body.compactJSON()
            if case .bool(true)? = value["isBase64Encoded"], let data = Data(base64Encoded: string) {
                bytes = Array(data)
            } else {
                bytes = Array(string.utf8)
            }
        }
        if status == 204 || status == 304 { bytes = [] }  // no body, by definition
        if !headers.contains(name: "Content-Type") && !bytes.isEmpty { headers.add(name: "Content-Type", value: "application/json") }
        return LoopResponse(status: HTTPResponseStatus(statusCode: status), headers: headers, body: bytes)
    }
}

/// Whether a request body is JSON.
enum JSONCheck {
    static func isValid(_ bytes: [UInt8]) -> Bool {
        (try? ConfigValue(json: String(decoding: bytes, as: UTF8.self))) != nil
    }
}

/// What may go into an HTTP header line (RFC 9110 §5.1, §5.5).
enum HeaderCheck {
    static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
            default: return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    /// Visible characters, spaces and tabs (and any non-ASCII byte): a line break would split
    /// the response, and NIO refuses to write any other control character, which used to leave
    /// the client waiting for an answer that never came.
    static func isValue(_ value: String) -> Bool {
        !value.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
    }
}

/// The routing table of `http` triggers: literal segments, `{param}` and a final `{proxy+}`.
struct RouteTable: Sendable {
    struct Entry: Sendable {
        var route: FunctionConfig.Route
        var function: String
        var segments: [Substring]
    }

    private(set) var entries: [Entry] = []

    mutating func set(function: String, routes: [FunctionConfig.Route]) {
        entries.removeAll { $0.function == function }
        for route in routes {
            entries.append(Entry(route: route, function: function, segments: route.path.split(separator: "/")))
        }
        // Most specific first: more literal segments, then no greedy parameter.
        entries.sort { a, b in
            let la = a.segments.filter { !$0.hasPrefix("{") }.count, lb = b.segments.filter { !$0.hasPrefix("{") }.count
            if la != lb { return la > lb }
            if a.segments.count != b.segments.count { return a.segments.count > b.segments.count }
            return a.route.path < b.route.path
        }
    }

    func match(method: String, path: String) -> (FunctionConfig.Route, String, [String: String])? {
        let parts = path.split(separator: "/")
        for entry in entries where entry.route.method == method || entry.route.method == "ANY" || entry.route.method == "*" {
            var parameters: [String: String] = [:]
            var matched = true
            for (i, segment) in entry.segments.enumerated() {
                if segment.hasPrefix("{") && segment.hasSuffix("+}") {
                    let name = String(segment.dropFirst().dropLast(2))
                    guard i < parts.count else { matched = false; break }
                    parameters[name] = parts[i...].joined(separator: "/").removingPercentEncoding
                    return (entry.route, entry.function, parameters)
                }
                guard i < parts.count else { matched = false; break }
                if segment.hasPrefix("{") && segment.hasSuffix("}") {
                    parameters[String(segment.dropFirst().dropLast())] = String(parts[i]).removingPercentEncoding ?? String(parts[i])
                } else if segment != parts[i] {
                    matched = false
                    break
                }
            }
            if matched && entry.segments.count == parts.count { return (entry.route, entry.function, parameters) }
        }
        return nil
    }
}
