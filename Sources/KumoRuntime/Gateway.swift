import Foundation
import HTTPTypes
import Hummingbird
import KumoManifest

/// The HTTP gateway on 127.0.0.1: `http` triggers (API Gateway HTTP API, payload format 2.0)
/// and the AWS Lambda Invoke API, so `boto3.client("lambda", endpoint_url=…)` works unchanged.
struct Gateway: Sendable {
    let runtime: Runtime

    static let invokePrefix = "/2015-03-31/functions/"

    func respond(_ request: Request) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix(Gateway.invokePrefix) && request.method == .post {
            return try await invokeAPI(request, path: path)
        }
        return try await httpTrigger(request, path: path)
    }

    // MARK: Lambda Invoke API

    func invokeAPI(_ request: Request, path: String) async throws -> Response {
        let parts = path.dropFirst(Gateway.invokePrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1] == "invocations" else {
            return Gateway.awsError(.notFound, "UnknownOperationException", "unknown operation \(path)")
        }
        let reference = String(parts[0]).removingPercentEncoding ?? String(parts[0])
        let name = Gateway.functionName(reference)
        let requestID = UUID().uuidString.lowercased()
        var headers: HTTPFields = [:]
        headers[.named("x-amzn-RequestId")] = requestID
        guard let pool = await runtime.pool(named: name) else {
            return Gateway.awsError(.notFound, "ResourceNotFoundException", "Function not found: arn:aws:lambda:\(runtime.region):000000000000:function:\(name)", headers: headers)
        }
        let payload = try await request.bytes()
        if !payload.isEmpty, (try? ConfigValue(json: String(decoding: payload, as: UTF8.self))) == nil {
            return Gateway.awsError(.badRequest, "InvalidRequestContentException", "Could not parse request body into json", headers: headers)
        }
        let body = payload.isEmpty ? Array("{}".utf8) : payload
        switch request.headers[.named("X-Amz-Invocation-Type")] ?? "RequestResponse" {
        case "DryRun":
            return Response(status: .noContent, headers: headers)
        case "Event":
            Task { _ = await pool.invoke(body, requestID: requestID) }
            return Response(status: .accepted, headers: headers)
        case "RequestResponse":
            headers[.named("X-Amz-Executed-Version")] = "$LATEST"
            switch await pool.invoke(body, requestID: requestID) {
            case .success(let result):
                return .json(.ok, result, headers: headers)
            case .functionError(_, let error):
                headers[.named("X-Amz-Function-Error")] = "Unhandled"
                return .json(.ok, error, headers: headers)
            case .throttled:
                return Gateway.awsError(.tooManyRequests, "TooManyRequestsException", "Rate Exceeded.", headers: headers, reason: "ReservedFunctionConcurrentInvocationLimitExceeded")
            }
        case let other:
            return Gateway.awsError(.badRequest, "InvalidParameterValueException", "unsupported X-Amz-Invocation-Type '\(other)'", headers: headers)
        }
    }

    /// `name`, `name:qualifier`, or an ARN `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
    static func functionName(_ reference: String) -> String {
        let parts = reference.split(separator: ":").map(String.init)
        if parts.count >= 7, parts[0] == "arn" { return parts[6] }
        return parts.first ?? reference
    }

    static func awsError(_ status: HTTPResponse.Status, _ type: String, _ message: String, headers: HTTPFields = [:], reason: String? = nil) -> Response {
        var fields = headers
        fields[.named("x-amzn-ErrorType")] = type
        var body: [(String, ConfigValue)] = [("Type", .string("User")), ("message", .string(message))]
        if let reason { body.append(("Reason", .string(reason))) }
        return .json(status, ConfigValue.object(body).compactJSON(), headers: fields)
    }

    // MARK: HTTP triggers

    func httpTrigger(_ request: Request, path: String) async throws -> Response {
        let method = request.method.rawValue
        guard let (route, function, parameters) = await runtime.route(method: method, path: path) else {
            return .json(.notFound, "{\"message\":\"Not Found\"}")
        }
        guard let pool = await runtime.pool(named: function) else {
            return .json(.notFound, "{\"message\":\"Not Found\"}")
        }
        let requestID = UUID().uuidString.lowercased()
        let body = try await request.bytes()
        let event = Gateway.event(request, body: body, routeKey: "\(route.method) \(route.path)", parameters: parameters, requestID: requestID)
        switch await pool.invoke(Array(event.compactJSON().utf8), requestID: requestID) {
        case .success(let result):
            return Gateway.response(from: result, requestID: requestID)
        case .functionError:
            return .json(.internalServerError, "{\"message\":\"Internal Server Error\"}", headers: [.named("apigw-requestid"): requestID])
        case .throttled:
            return .json(.tooManyRequests, "{\"message\":\"Too Many Requests\"}", headers: [.named("apigw-requestid"): requestID])
        }
    }

    /// The API Gateway HTTP API event, payload format version 2.0.
    static func event(_ request: Request, body: [UInt8], routeKey: String, parameters: [String: String], requestID: String) -> ConfigValue {
        var headers: [String: [String]] = [:]
        var cookies: [String] = []
        for field in request.headers {
            let name = field.name.canonicalName.lowercased()
            if name == "cookie" {
                cookies += field.value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            } else {
                headers[name, default: []].append(field.value)
            }
        }
        let rawQuery = request.uri.query ?? ""
        var query: [String: [String]] = [:]
        for pair in rawQuery.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(kv[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[0])
            let value = kv.count > 1 ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[1])) : ""
            query[key, default: []].append(value)
        }
        let now = Date()
        let text = String(decoding: body, as: UTF8.self)
        let isText = String(validating: body, as: UTF8.self) != nil
        var event: [(String, ConfigValue)] = [
            ("version", .string("2.0")),
            ("routeKey", .string(routeKey)),
            ("rawPath", .string(request.uri.path)),
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
                ("method", .string(request.method.rawValue)),
                ("path", .string(request.uri.path)),
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
            event.append(("body", .string(isText ? text : Data(body).base64EncodedString())))
        }
        event.append(("isBase64Encoded", .bool(!body.isEmpty && !isText)))
        return .object(event)
    }

    /// Maps a handler's result to HTTP as API Gateway does for payload format 2.0: an object
    /// with `statusCode` is a response; anything else is a 200 JSON body.
    static func response(from result: [UInt8], requestID: String) -> Response {
        var headers: HTTPFields = [:]
        headers[.named("apigw-requestid")] = requestID
        let text = String(decoding: result, as: UTF8.self)
        guard let value = try? ConfigValue(json: text), case .object = value, let status = value["statusCode"]?.intValue else {
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: .init(bytes: result)))
        }
        for (name, field) in value["headers"]?.objectValue ?? [] {
            guard let fieldName = HTTPField.Name(name) else { continue }
            switch field {
            case .string(let s): headers[fieldName] = s
            case .int, .double, .bool: headers[fieldName] = field.compactJSON()
            default: continue
            }
        }
        for (name, values) in value["multiValueHeaders"]?.objectValue ?? [] {
            guard let fieldName = HTTPField.Name(name) else { continue }
            for item in values.arrayValue ?? [] { headers.append(HTTPField(name: fieldName, value: item.stringValue ?? item.compactJSON())) }
        }
        for cookie in value["cookies"]?.arrayValue ?? [] {
            if let text = cookie.stringValue { headers.append(HTTPField(name: .setCookie, value: text)) }
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
        if headers[.contentType] == nil && !bytes.isEmpty { headers[.contentType] = "application/json" }
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: .init(bytes: bytes)))
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
