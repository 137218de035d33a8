import Foundation
import Testing
@testable import KumoEvents

/// The example EC2 event of AWS's "Amazon EventBridge input transformation" page, with a few
/// more detail fields for the value kinds.
private let event: JSON = .object([
    ("version", .string("0")),
    ("id", .string("7bf73129-1428-4cd3-a780-95db273d1602")),
    ("detail-type", .string("EC2 Instance State-change Notification")),
    ("source", .string("aws.ec2")),
    ("account", .string("123456789012")),
    ("time", .string("2015-11-11T21:29:54Z")),
    ("region", .string("us-east-1")),
    ("resources", .array([.string("arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111")])),
    ("detail", .object([
        ("instance-id", .string("i-0123456789")),
        ("state", .string("RUNNING")),
        ("count", .number(3, text: "3")),
        ("ok", .bool(true)),
        ("none", .null),
        ("note", .string("say \"hi\"\n")),
        ("tags", .array([.string("a"), .string("b")])),
    ])),
])

private let map = [
    "timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state", "status": "$.detail.state",
    "n": "$.detail.count", "ok": "$.detail.ok", "none": "$.detail.none", "note": "$.detail.note", "tags": "$.detail.tags",
    "detail": "$.detail", "missing": "$.detail.missing", "resource": "$.resources[0]", "quoted": "$['detail']['instance-id']",
]

private let context = InputTransform.Context(
    ruleName: "example", ruleARN: "arn:aws:events:us-east-2:123456789012:rule/example",
    ingestionTime: Date(timeIntervalSince1970: 1_772_359_200))  // 2026-03-01T10:00:00Z

private func body(_ transform: InputTransform) throws -> String {
    try transform.check()
    return String(decoding: try transform.apply(to: event, context: context), as: UTF8.self)
}

@Suite struct InputTransformTests {
    /// (template, body): AWS's documented examples first, then the value kinds.
    static let templates: [(String, String)] = [
        (#""instance <instance> is in <state>""#, #""instance i-0123456789 is in RUNNING""#),
        (#""instance \"<instance>\" is in <state>""#, #""instance \"i-0123456789\" is in RUNNING""#),
        ("{\n  \"instance\" : <instance>,\n  \"state\": <state>\n}", #"{"instance":"i-0123456789","state":"RUNNING"}"#),
        (#"{ "instance" : <instance>, "state": "<state>", "instanceStatus": "instance \"<instance>\" is in <state>" }"#,
         #"{"instance":"i-0123456789","state":"RUNNING","instanceStatus":"instance \"i-0123456789\" is in RUNNING"}"#),
        (#"{ "instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes" }"#,
         #"{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}"#),
        (#"{"ruleArn" : <aws.events.rule-arn>, "ruleName" : <aws.events.rule-name>}"#,
         #"{"ruleArn":"arn:aws:events:us-east-2:123456789012:rule/example","ruleName":"example"}"#),
        (#""<aws.events.rule-name> triggered""#, #""example triggered""#),
        (#"{ "timestamp" : <timestamp>, "message": "instance \"<instance>\" is in <state>" }"#,
         #"{"timestamp":"2015-11-11T21:29:54Z","message":"instance \"i-0123456789\" is in RUNNING"}"#),
        // The API reference's plain-text template: delivered as written, values raw.
        ("<instance> is in state <status>", "i-0123456789 is in state RUNNING"),
        ("Order <detail> at <n>", #"Order {"instance-id":"i-0123456789","state":"RUNNING","count":3,"ok":true,"none":null,"note":"say \"hi\"\n","tags":["a","b"]} at 3"#),
        // Value kinds outside and inside quotes.
        (#"{"n": <n>, "ok": <ok>, "none": <none>, "tags": <tags>}"#, #"{"n":3,"ok":true,"none":null,"tags":["a","b"]}"#),
        (#""n=<n> ok=<ok> none=<none>""#, #""n=3 ok=true none=null""#),
        (#"{"note": <note>, "quoted": "<note>"}"#, #"{"note":"say \"hi\"\n","quoted":"say \"hi\"\n"}"#),
        (#"{"at": <aws.events.event.ingestion-time>}"#, #"{"at":"2026-03-01T10:00:00Z"}"#),
        (#"{"r": <resource>, "q": <quoted>}"#, #"{"r":"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111","q":"i-0123456789"}"#),
        // A missing value inside quotes, or in plain text, is left out.
        (#""id=<missing>.""#, #""id=.""#),
        ("id=<missing>.", "id=."),
        // Whitespace inside strings stays; only the JSON's own is dropped.
        ("[ \"a  b\" ,\t<n> ]", #"["a  b",3]"#),
        ("<n>", "3"),
    ]

    @Test(arguments: templates) func templateFillsAsEventBridgeDoes(_ template: String, _ expected: String) throws {
        #expect(try body(.template(pathsMap: map, template: template)) == expected)
    }

    @Test func reservedEventPlaceholders() throws {
        let whole = try body(.template(pathsMap: [:], template: #"{"e": <aws.events.event.json>}"#))
        #expect(whole == #"{"e":"# + event.compactText + "}")
        let withoutDetail = try body(.template(pathsMap: [:], template: #"{"e": <aws.events.event>}"#))
        #expect(withoutDetail.hasPrefix(#"{"e":{"version":"0","#) && withoutDetail.hasSuffix(#""resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]}}"#))
        #expect(!withoutDetail.contains("detail\":"))
    }

    @Test func eventConstantAndPath() throws {
        #expect(try body(.event) == event.compactText)
        #expect(try body(.constant(#"{ "a": [1, 2] }"#)) == #"{ "a": [1, 2] }"#)
        #expect(try body(.path("$.detail.tags")) == #"["a","b"]"#)
        #expect(try body(.path("$.detail.instance-id")) == #""i-0123456789""#)
        #expect(try body(.path("$.resources[0]")) == #""arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111""#)
        #expect(try body(.path("$")) == event.compactText)
        // A path the event lacks: nothing to deliver.
        #expect(try body(.path("$.detail.missing")) == "")
        #expect(try body(.path("$.resources[5]")) == "")
    }

    /// (template, reason): events the transformer cannot deliver.
    static let undeliverable: [(String, String)] = [
        (#""detail: <detail>""#, "placeholder '<detail>' is an object or array inside a JSON string: EventBridge cannot deliver the event (put the placeholder outside quotes)"),
        (#"{"t": "<tags>"}"#, "placeholder '<tags>' is an object or array inside a JSON string: EventBridge cannot deliver the event (put the placeholder outside quotes)"),
        (#"{"x": <missing>}"#, "placeholder '<missing>' has no value: $.detail.missing is not in the event, and the JSON template needs a value there"),
    ]

    @Test(arguments: undeliverable) func undeliverableEvents(_ template: String, _ reason: String) throws {
        let transform = InputTransform.template(pathsMap: map, template: template)
        try transform.check()
        #expect(throws: TransformError(reason)) { try transform.apply(to: event, context: context) }
    }

    /// (transform, problem): what `check()` refuses.
    static let invalid: [(InputTransform, String)] = [
        (.constant("{a: 1}"), "expected a JSON text, got '{a: 1}'"),
        (.path("detail.id"), "expected a JSONPath starting with '$', got 'detail.id'"),
        (.path("$.detail..id"), "invalid JSONPath '$.detail..id': a name must follow '.'"),
        (.path("$.items[*]"), "invalid JSONPath '$.items[*]': wildcards are not supported"),
        (.path("$.items[x]"), "invalid JSONPath '$.items[x]': expected an index, as in [0], or a quoted name, as in ['a b']"),
        (.path("$['a b'"), "invalid JSONPath '$['a b'': a quoted name must end with ']"),
        (.template(pathsMap: ["id": "$.id"], template: "<id> <nope>"), "placeholder '<nope>' is not defined in inputPathsMap"),
        (.template(pathsMap: ["aws.x": "$.id"], template: "<aws.x>"), "'aws.x' is not a valid placeholder name (letters, digits, '_', '-', '.', not starting with 'aws.')"),
        (.template(pathsMap: ["id": "id"], template: "<id>"), "'id': expected a JSONPath starting with '$', got 'id'"),
        (.template(pathsMap: [:], template: #""<aws.events.event>""#), "placeholder '<aws.events.event>' can only be a value in a JSON template, outside quotes"),
        (.template(pathsMap: [:], template: "event <aws.events.event.json>"), "placeholder '<aws.events.event.json>' can only be a value in a JSON template, outside quotes"),
        (.template(pathsMap: Dictionary(uniqueKeysWithValues: (0...100).map { ("k\($0)", "$.k") }), template: "x"), "at most 100 entries in inputPathsMap, got 101"),
        (.template(pathsMap: [:], template: String(repeating: "x", count: 8193)), "'inputTemplate' is 8193 bytes long; EventBridge takes at most 8192"),
    ]

    @Test(arguments: invalid) func checkRefuses(_ transform: InputTransform, _ problem: String) {
        #expect(throws: TransformError(problem)) { try transform.check() }
    }

    @Test func placeholdersAreFoundInOrder() {
        #expect(InputTransform.placeholders(in: #"{"a": <x>, "b": "<y.z> <x>", "c": "<not a placeholder>", "d": "<>"}"#) == ["x", "y.z", "x"])
    }
}
