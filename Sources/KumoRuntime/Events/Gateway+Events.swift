import Foundation
import NIOCore
import NIOHTTP1
import KumoEvents
import KumoManifest

/// Amazon EventBridge's API on the gateway (JSON 1.1, `X-Amz-Target: AWSEvents.ACTION`), so
/// `boto3.client("events", endpoint_url=…)` and `aws events` work unchanged: PutEvents,
/// TestEventPattern, ListRules, DescribeRule and ListTargetsByRule on the default bus.
extension Gateway {
    static let eventsPrefix = "AWSEvents."

    func eventsAPI(_ request: LoopRequest, action: Substring, _ handler: LoopHTTPHandler) {
        let requestID = UUID().uuidString.lowercased()
        let bound = NIOLoopBound(handler, eventLoop: InvokeLoop.loop)
        let loop = InvokeLoop.loop
        func reply(_ response: LoopResponse) {
            loop.execute { bound.value.respond(response) }
        }
        guard !request.tooLarge else {
            return handler.respond(Gateway.eventsError(.payloadTooLarge, "ValidationException", "Request is too large.", requestID: requestID))
        }
        let body: ConfigValue
        if request.body.isEmpty {
            body = .object([])
        } else if let parsed = try? ConfigValue(json: String(decoding: request.body, as: UTF8.self)), case .object = parsed {
            body = parsed
        } else {
            return handler.respond(Gateway.eventsError(.badRequest, "SerializationException", "Start of structure or map found where not expected.", requestID: requestID))
        }
        let events = self.events
        let region = self.region
        switch action {
        case "PutEvents":
            Task {
                reply(await Gateway.putEvents(body, bus: events, requestID: requestID))
            }
        case "TestEventPattern":
            handler.respond(Gateway.testEventPattern(body, requestID: requestID))
        case "ListRules", "DescribeRule", "ListTargetsByRule":
            Task {
                let rules = await events.registeredRules
                reply(Gateway.describe(String(action), body, rules: rules, region: region, requestID: requestID))
            }
        default:
            handler.respond(Gateway.eventsError(.badRequest, "UnknownOperationException", "Kumo's event bus does not implement \(action)", requestID: requestID))
        }
    }

    static func eventsError(_ status: HTTPResponseStatus, _ type: String, _ message: String, requestID: String) -> LoopResponse {
        let body = ConfigValue.object([("__type", .string(type)), ("message", .string(message))]).compactJSON()
        return LoopResponse(status: status, headers: eventsHeaders(requestID), body: Array(body.utf8))
    }

    static func eventsHeaders(_ requestID: String) -> HTTPHeaders {
        HTTPHeaders([("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", requestID)])
    }

    static func eventsResult(_ value: ConfigValue, requestID: String) -> LoopResponse {
        LoopResponse(status: .ok, headers: eventsHeaders(requestID), body: value.compactJSONBytes())
    }

    // MARK: PutEvents

    static func putEvents(_ body: ConfigValue, bus: EventBus, requestID: String) async -> LoopResponse {
        guard let items = body["Entries"]?.arrayValue else {
            return eventsError(.badRequest, "ValidationException", "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null", requestID: requestID)
        }
        guard (1...10).contains(items.count) else {
            return eventsError(.badRequest, "ValidationException",
                               "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length \(items.isEmpty ? "greater than or equal to 1" : "less than or equal to 10")",
                               requestID: requestID)
        }
        let entries = items.map { item in
            PutEventsEntry(source: item["Source"]?.stringValue, detailType: item["DetailType"]?.stringValue, detail: item["Detail"]?.stringValue,
                           resources: item["Resources"]?.arrayValue?.compactMap(\.stringValue) ?? [], eventBusName: item["EventBusName"]?.stringValue,
                           time: item["Time"]?.doubleValue.map { Date(timeIntervalSince1970: $0) }, traceHeader: item["TraceHeader"]?.stringValue)
        }
        let results: [Result<String, EntryError>]
        do { results = try await bus.put(entries) } catch {
            return eventsError(.internalServerError, "InternalException", "the event store cannot record the events: \(error)", requestID: requestID)
        }
        var failed = 0
        let documents: [ConfigValue] = results.map { result in
            switch result {
            case .success(let id): return .object([("EventId", .string(id))])
            case .failure(let error):
                failed += 1
                return .object([("ErrorCode", .string(error.code)), ("ErrorMessage", .string(error.message))])
            }
        }
        return eventsResult(.object([("FailedEntryCount", .int(failed)), ("Entries", .array(documents))]), requestID: requestID)
    }

    // MARK: TestEventPattern

    /// EventBridge requires the envelope's fields in the test event.
    static let envelopeFields = ["id", "account", "source", "time", "region", "detail-type"]

    static func testEventPattern(_ body: ConfigValue, requestID: String) -> LoopResponse {
        guard let patternText = body["EventPattern"]?.stringValue, let eventText = body["Event"]?.stringValue else {
            return eventsError(.badRequest, "ValidationException", "EventPattern and Event are required.", requestID: requestID)
        }
        let pattern: Pattern
        do { pattern = try Pattern(text: patternText) } catch {
            return eventsError(.badRequest, "InvalidEventPatternException", "Event pattern is not valid. Reason: \(error)", requestID: requestID)
        }
        guard let event = try? JSON.parse(eventText), case .object(let pairs) = event else {
            return eventsError(.badRequest, "ValidationException", "Parameter Event is not valid.", requestID: requestID)
        }
        let missing = envelopeFields.filter { field in !pairs.contains { $0.key == field } }
        guard missing.isEmpty else {
            return eventsError(.badRequest, "ValidationException", "Parameter Event is not valid: it lacks \(missing.joined(separator: ", ")).", requestID: requestID)
        }
        return eventsResult(.object([("Result", .bool(pattern.matches(event)))]), requestID: requestID)
    }

    // MARK: ListRules, DescribeRule, ListTargetsByRule

    static func describe(_ action: String, _ body: ConfigValue, rules: [Rule], region: String, requestID: String) -> LoopResponse {
        let arn = "arn:aws:events:\(region):000000000000:rule/"
        func document(_ rule: Rule) -> ConfigValue {
            let spec = rule.configValue
            var fields: [(String, ConfigValue)] = [("Name", .string(rule.name)), ("Arn", .string(arn + rule.name))]
            if let pattern = spec["pattern"] { fields.append(("EventPattern", .string(pattern.compactJSON()))) }
            if let schedule = spec["schedule"]?.stringValue { fields.append(("ScheduleExpression", .string(schedule))) }
            fields.append(("State", .string(rule.enabled ? "ENABLED" : "DISABLED")))
            if let description = rule.description { fields.append(("Description", .string(description))) }
            fields.append(("EventBusName", .string("default")))
            return .object(fields)
        }
        func named(_ key: String) -> Rule? {
            guard let name = body[key]?.stringValue else { return nil }
            return rules.first { $0.name == name }
        }
        func notFound(_ key: String) -> LoopResponse {
            eventsError(.badRequest, "ResourceNotFoundException", "Rule \(body[key]?.stringValue ?? "") does not exist on EventBus default.", requestID: requestID)
        }
        switch action {
        case "DescribeRule":
            guard let rule = named("Name") else { return notFound("Name") }
            guard case .object(var fields) = document(rule) else { return notFound("Name") }
            fields.append(("CreatedBy", .string("000000000000")))
            return eventsResult(.object(fields), requestID: requestID)
        case "ListTargetsByRule":
            guard let rule = named("Rule") else { return notFound("Rule") }
            let targets: [ConfigValue] = rule.targets.enumerated().map { index, target in
                var fields: [(String, ConfigValue)] = [("Id", .string("\(target.kind.rawValue)-\(target.name)-\(index)"))]
                switch target.kind {
                case .function: fields.append(("Arn", .string("arn:aws:lambda:\(region):000000000000:function:\(target.name)")))
                case .service: fields.append(("Arn", .string("arn:kumo:service:\(region):000000000000:\(target.name)\(target.path ?? "/")")))
                }
                if let input = target.input { fields.append(("Input", .string(input))) }
                if let path = target.inputPath { fields.append(("InputPath", .string(path))) }
                if let t = target.inputTransformer {
                    fields.append(("InputTransformer", .object([
                        ("InputPathsMap", .object(t.inputPathsMap.keys.sorted().map { ($0, .string(t.inputPathsMap[$0]!)) })),
                        ("InputTemplate", .string(t.inputTemplate)),
                    ])))
                }
                fields.append(("RetryPolicy", .object([
                    ("MaximumRetryAttempts", .int(rule.retryPolicy.maximumRetryAttempts)),
                    ("MaximumEventAgeInSeconds", .int(Int(rule.retryPolicy.maximumEventAge.milliseconds / 1000))),
                ])))
                return .object(fields)
            }
            return eventsResult(.object([("Targets", .array(targets))]), requestID: requestID)
        default:
            let prefix = body["NamePrefix"]?.stringValue ?? ""
            var selected = rules.filter { $0.name.hasPrefix(prefix) }
            // NextToken is the last name of the previous page.
            if let after = body["NextToken"]?.stringValue { selected = selected.filter { $0.name > after } }
            let limit = max(1, min(body["Limit"]?.intValue ?? 100, 100))
            var fields: [(String, ConfigValue)] = [("Rules", .array(selected.prefix(limit).map(document)))]
            if selected.count > limit, let last = selected.prefix(limit).last { fields.append(("NextToken", .string(last.name))) }
            return eventsResult(.object(fields), requestID: requestID)
        }
    }
}
