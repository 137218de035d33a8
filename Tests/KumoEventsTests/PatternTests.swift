import Testing
@testable import KumoEvents

/// The event of event-ruler's README ("Ruler by Example"), used by AWS's documentation too.
let readmeEvent = """
    {
      "version": "0", "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
      "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
      "account": "012345679012", "time": "2017-10-02T16:24:49Z", "region": "us-east-1",
      "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
      "detail": {
        "c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000", "state": "running"
      }
    }
    """

func matches(_ pattern: String, _ event: String) throws -> Bool {
    try Pattern(text: pattern).matches(JSON.parse(event))
}

@Suite struct PatternTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var pattern: String
        var event: String
        var expected: Bool
        var testDescription: String { "\(pattern) ~ \(event) → \(expected)" }
        init(_ pattern: String, _ event: String, _ expected: Bool) {
            self.pattern = pattern
            self.event = event
            self.expected = expected
        }
    }

    @Test func readmeExamplesMatchTheReadmeEvent() throws {
        let patterns = [
            #"{"detail-type":["EC2 Instance State-change Notification"],"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],"detail":{"state":["initializing","running"]}}"#,
            #"{"time":[{"prefix":"2017-10-02"}]}"#,
            #"{"source":[{"prefix":{"equals-ignore-case":"AWS.E"}}]}"#,
            #"{"detail":{"instance-id":[{"suffix":"0000"}]}}"#,
            #"{"source":[{"equals-ignore-case":"AWS.EC2"}]}"#,
            #"{"detail-type":[{"wildcard":"EC2*State-change*"}]}"#,
            #"{"detail":{"state":[{"anything-but":"initializing"}]}}"#,
            #"{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}"#,
            #"{"detail":{"source-ip":[{"cidr":"10.0.0.0/24"}]}}"#,
            #"{"detail":{"c-count":[{"exists":true}]}}"#,
            #"{"time":[{"prefix":"2017-10-02"}],"detail":{"state":[{"anything-but":"initializing"}],"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"anything-but":[100,200,300]}],"source-ip":[{"cidr":"10.0.0.0/8"}]}}"#,
            #"{"source":["aws.ec2"],"$or":[{"detail":{"c-count":[{"numeric":[">",10]}]}},{"detail":{"state":["running"]}}]}"#,
        ]
        for pattern in patterns {
            #expect(try matches(pattern, readmeEvent), "\(pattern)")
        }
    }

    @Test(arguments: [
        // Exact values: strings, numbers by value, booleans, null; case-sensitive.
        Case(#"{"a":["x"]}"#, #"{"a":"x"}"#, true),
        Case(#"{"a":["x"]}"#, #"{"a":"X"}"#, false),
        Case(#"{"a":[300]}"#, #"{"a":3.0e2}"#, true),
        Case(#"{"a":[300]}"#, #"{"a":"300"}"#, false),
        Case(#"{"a":["300"]}"#, #"{"a":300}"#, false),
        Case(#"{"a":[true]}"#, #"{"a":true}"#, true),
        Case(#"{"a":[true]}"#, #"{"a":"true"}"#, false),
        Case(#"{"a":[null]}"#, #"{"a":null}"#, true),
        Case(#"{"a":[null]}"#, #"{}"#, false),
        Case(#"{"a":[""]}"#, #"{"a":""}"#, true),
        Case(#"{"a":["x"]}"#, #"{}"#, false),
        // Lists in the event: any element.
        Case(#"{"a":["x"]}"#, #"{"a":["y","x"]}"#, true),
        Case(#"{"a":["x"]}"#, #"{"a":[["y"],["x"]]}"#, true),
        Case(#"{"a":["x"]}"#, #"{"a":[]}"#, false),
        Case(#"{"a":["x"]}"#, #"{"a":{"b":"x"}}"#, false),
        // Bytes, not canonical equivalence: é precomposed vs e + combining acute.
        Case(#"{"a":["\u00e9"]}"#, #"{"a":"e\u0301"}"#, false),
        // prefix / suffix, and their ignore-case forms; strings only.
        Case(#"{"a":[{"prefix":"ab"}]}"#, #"{"a":"abc"}"#, true),
        Case(#"{"a":[{"prefix":"ab"}]}"#, #"{"a":"Abc"}"#, false),
        Case(#"{"a":[{"prefix":"12"}]}"#, #"{"a":123}"#, false),
        Case(#"{"a":[{"prefix":""}]}"#, #"{"a":"x"}"#, true),
        Case(#"{"a":[{"prefix":{"equals-ignore-case":"AB"}}]}"#, #"{"a":"aBc"}"#, true),
        Case(#"{"a":[{"suffix":".png"}]}"#, #"{"a":"x.png"}"#, true),
        Case(#"{"a":[{"suffix":".png"}]}"#, #"{"a":"x.PNG"}"#, false),
        Case(#"{"a":[{"suffix":{"equals-ignore-case":".png"}}]}"#, #"{"a":"x.PNG"}"#, true),
        Case(#"{"a":[{"equals-ignore-case":"ÉCOLE"}]}"#, #"{"a":"école"}"#, true),
        Case(#"{"a":[{"equals-ignore-case":"x"}]}"#, #"{"a":"xy"}"#, false),
        // wildcard
        Case(#"{"a":[{"wildcard":"Simple*Service"}]}"#, #"{"a":"SimpleQueueService"}"#, true),
        Case(#"{"a":[{"wildcard":"Simple*Service"}]}"#, #"{"a":"SimpleService"}"#, true),
        Case(#"{"a":[{"wildcard":"Simple*Service"}]}"#, #"{"a":"SimpleServices"}"#, false),
        Case(#"{"a":[{"wildcard":"*/bin/*.jar"}]}"#, #"{"a":"/usr/bin/x.jar"}"#, true),
        Case(#"{"a":[{"wildcard":"a*b*a"}]}"#, #"{"a":"aba"}"#, true),
        Case(#"{"a":[{"wildcard":"a*b*a"}]}"#, #"{"a":"ab"}"#, false),
        Case(#"{"a":[{"wildcard":"a\\*b"}]}"#, #"{"a":"a*b"}"#, true),
        Case(#"{"a":[{"wildcard":"a\\*b"}]}"#, #"{"a":"axb"}"#, false),
        Case(#"{"a":[{"wildcard":"*"}]}"#, #"{"a":5}"#, false),
        // anything-but: needs the field; any value of another type differs.
        Case(#"{"a":[{"anything-but":"x"}]}"#, #"{"a":"y"}"#, true),
        Case(#"{"a":[{"anything-but":"x"}]}"#, #"{"a":"x"}"#, false),
        Case(#"{"a":[{"anything-but":"x"}]}"#, #"{}"#, false),
        Case(#"{"a":[{"anything-but":"x"}]}"#, #"{"a":5}"#, true),
        Case(#"{"a":[{"anything-but":[100,200]}]}"#, #"{"a":200.0}"#, false),
        Case(#"{"a":[{"anything-but":[100,200]}]}"#, #"{"a":300}"#, true),
        Case(#"{"a":[{"anything-but":{"prefix":"init"}}]}"#, #"{"a":"initializing"}"#, false),
        Case(#"{"a":[{"anything-but":{"prefix":["init","err"]}}]}"#, #"{"a":"error"}"#, false),
        Case(#"{"a":[{"anything-but":{"suffix":"1234"}}]}"#, #"{"a":"i-1234"}"#, false),
        Case(#"{"a":[{"anything-but":{"suffix":"1234"}}]}"#, #"{"a":"i-1235"}"#, true),
        Case(#"{"a":[{"anything-but":{"equals-ignore-case":["Stopped","OverLoaded"]}}]}"#, #"{"a":"STOPPED"}"#, false),
        Case(#"{"a":[{"anything-but":{"equals-ignore-case":"Stopped"}}]}"#, #"{"a":"running"}"#, true),
        Case(#"{"a":[{"anything-but":{"wildcard":"*/bin/*.jar"}}]}"#, #"{"a":"/usr/bin/x.jar"}"#, false),
        Case(#"{"a":[{"anything-but":{"wildcard":"*/bin/*.jar"}}]}"#, #"{"a":"/usr/lib/x.jar"}"#, true),
        Case(#"{"a":[{"anything-but":"x"}]}"#, #"{"a":["x","y"]}"#, true),
        // numeric: numbers only, by value.
        Case(#"{"a":[{"numeric":[">",0,"<=",5]}]}"#, #"{"a":5}"#, true),
        Case(#"{"a":[{"numeric":[">",0,"<=",5]}]}"#, #"{"a":0}"#, false),
        Case(#"{"a":[{"numeric":[">=",0,"<",5]}]}"#, #"{"a":0}"#, true),
        Case(#"{"a":[{"numeric":["<",10]}]}"#, #"{"a":"3"}"#, false),
        Case(#"{"a":[{"numeric":["=",3.018e2]}]}"#, #"{"a":301.8}"#, true),
        Case(#"{"a":[{"numeric":["=",-0]}]}"#, #"{"a":0}"#, true),
        // exists: leaves only.
        Case(#"{"a":[{"exists":true}]}"#, #"{"a":"x"}"#, true),
        Case(#"{"a":[{"exists":true}]}"#, #"{"a":null}"#, true),
        Case(#"{"a":[{"exists":true}]}"#, #"{}"#, false),
        Case(#"{"a":[{"exists":true}]}"#, #"{"a":{"b":1}}"#, false),
        Case(#"{"a":[{"exists":true}]}"#, #"{"a":[]}"#, false),
        Case(#"{"a":[{"exists":false}]}"#, #"{}"#, true),
        Case(#"{"a":[{"exists":false}]}"#, #"{"a":"x"}"#, false),
        Case(#"{"a":[{"exists":false}]}"#, #"{"a":{"b":1}}"#, true),
        Case(#"{"a":{"b":[{"exists":false}]}}"#, #"{}"#, true),
        Case(#"{"a":[{"exists":false},"1"]}"#, #"{"a":"1"}"#, true),
        // cidr
        Case(#"{"a":[{"cidr":"10.0.0.0/24"}]}"#, #"{"a":"10.0.0.255"}"#, true),
        Case(#"{"a":[{"cidr":"10.0.0.0/24"}]}"#, #"{"a":"10.0.1.0"}"#, false),
        Case(#"{"a":[{"cidr":"10.0.0.0/24"}]}"#, #"{"a":"not an ip"}"#, false),
        Case(#"{"a":[{"cidr":"2001:db8::/32"}]}"#, #"{"a":"2001:db8:1::5"}"#, true),
        Case(#"{"a":[{"cidr":"2001:db8::/32"}]}"#, #"{"a":"2001:db9::5"}"#, false),
        Case(#"{"a":[{"cidr":"::1/128"}]}"#, #"{"a":"0:0:0:0:0:0:0:1"}"#, true),
        Case(#"{"a":[{"cidr":"10.0.0.0/8"}]}"#, #"{"a":"::ffff:a00:1"}"#, false),
        // Nested objects, and consistency within list elements (event-ruler's README).
        Case(#"{"employees":{"firstName":["Anna"]}}"#, #"{"employees":[{"firstName":"John"},{"firstName":"Anna"}]}"#, true),
        Case(#"{"employees":{"firstName":["Anna"],"lastName":["Jones"]}}"#, #"{"employees":[{"firstName":"Anna","lastName":"Smith"},{"firstName":"Peter","lastName":"Jones"}]}"#, false),
        Case(#"{"employees":{"firstName":["Anna"],"ids":[{"exists":false}]}}"#, #"{"employees":[{"firstName":"John","ids":[1]},{"firstName":"Anna"}]}"#, true),
        Case(#"{"employees":{"firstName":["Peter"]}}"#, #"{"employees":[[{"firstName":"John"}],[{"firstName":"Peter"}]]}"#, true),
        // $or
        Case(#"{"$or":[{"a":["1"]},{"b":["2"]}]}"#, #"{"b":"2"}"#, true),
        Case(#"{"$or":[{"a":["1"]},{"b":["2"]}]}"#, #"{"c":"2"}"#, false),
        Case(#"{"x":{"$or":[{"a":["1"]},{"b":["2"]}]}}"#, #"{"x":[{"a":"0"},{"b":"2"}]}"#, true),
        Case(#"{"s":["k"],"$or":[{"a":["1"]},{"b":["2"]}]}"#, #"{"s":"j","a":"1"}"#, false),
    ])
    func operators(_ c: Case) throws {
        #expect(try matches(c.pattern, c.event) == c.expected)
    }

    @Test(arguments: [
        (#"[]"#, ""),
        (#"{}"#, ""),
        (#"{"a":{}}"#, "a"),
        (#"{"a":"x"}"#, "a"),
        (#"{"a":[]}"#, "a"),
        (#"{"a":[["x"]]}"#, "a[0]"),
        (#"{"a":[{}]}"#, "a[0]"),
        (#"{"a":[{"prefix":"x","suffix":"y"}]}"#, "a[0]"),
        (#"{"a":[{"prefx":"x"}]}"#, "a[0].prefx"),
        (#"{"a":[{"prefix":5}]}"#, "a[0].prefix"),
        (#"{"a":[{"prefix":{"equals-ignore-case":5}}]}"#, "a[0].prefix.equals-ignore-case"),
        (#"{"a":[{"prefix":{"ignore-case":"x"}}]}"#, "a[0].prefix"),
        (#"{"a":[{"equals-ignore-case":["x"]}]}"#, "a[0].equals-ignore-case"),
        (#"{"a":[{"wildcard":"a**b"}]}"#, "a[0].wildcard"),
        (#"{"a":[{"wildcard":"a\\b"}]}"#, "a[0].wildcard"),
        (#"{"a":[{"exists":"true"}]}"#, "a[0].exists"),
        (#"{"a":[{"cidr":"10.0.0.0/33"}]}"#, "a[0].cidr"),
        (#"{"a":[{"cidr":"10.0.0.0"}]}"#, "a[0].cidr"),
        (#"{"a":[{"cidr":"2001:db8::1::/64"}]}"#, "a[0].cidr"),
        (#"{"a":[{"numeric":[">"]}]}"#, "a[0].numeric"),
        (#"{"a":[{"numeric":["=>",1]}]}"#, "a[0].numeric[0]"),
        (#"{"a":[{"numeric":[">","1"]}]}"#, "a[0].numeric[1]"),
        (#"{"a":[{"numeric":[">",6e9]}]}"#, "a[0].numeric[1]"),
        (#"{"a":[{"numeric":["<",1,">",0]}]}"#, "a[0].numeric"),
        (#"{"a":[{"numeric":[">",5,"<",5]}]}"#, "a[0].numeric"),
        (#"{"a":[{"anything-but":[]}]}"#, "a[0].anything-but"),
        (#"{"a":[{"anything-but":["x",1]}]}"#, "a[0].anything-but"),
        (#"{"a":[{"anything-but":[["x"]]}]}"#, "a[0].anything-but[0]"),
        (#"{"a":[{"anything-but":{"numeric":[">",1]}}]}"#, "a[0].anything-but"),
        (#"{"a":[{"anything-but":{"prefix":5}}]}"#, "a[0].anything-but.prefix"),
        (#"{"a":[{"anything-but":{"wildcard":["x","a**"]}}]}"#, "a[0].anything-but.wildcard[1]"),
        (#"{"$or":[{"a":["1"]}]}"#, "$or"),
        (#"{"$or":[{"a":["1"]},"b"]}"#, "$or[1]"),
        (#"{"$or":[{"a":["1"]},{"b":[]}]}"#, "$or[1].b"),
        (#"{"a":["1"],"a":["2"]}"#, "a"),
    ])
    func rejectsInvalidPatterns(text: String, path: String) {
        let error = #expect(throws: PatternError.self) { try Pattern(text: text) }
        #expect(error.map { PathComponent.dotted($0.path) } == path, "\(error?.description ?? "")")
    }

    @Test func unknownOperatorsCarryTheirAlternatives() {
        let error = #expect(throws: PatternError.self) { try Pattern(text: #"{"a":[{"prefx":"x"}]}"#) }
        #expect(error?.unknownOperator == "prefx")
        #expect(error?.knownOperators.contains("prefix") == true)
        #expect(error?.message == "unknown pattern operator 'prefx'")
    }

    @Test func messagesNameTheProblem() {
        let cases = [
            (#"{"a":[{"anything-but":["x",1]}]}"#, "'anything-but' takes either strings or numbers, not both"),
            (#"{"a":[{"numeric":[">",100,"<",10]}]}"#, "'numeric' range is empty: 100 is not below 10"),
            (#"{"a":[{"exists":"yes"}]}"#, "'exists' takes true or false, got the string \"yes\""),
            (#"{"a":"x"}"#, "'a': expected a list of values (write [\"x\"]) or a nested object, got the string \"x\""),
        ]
        for (text, message) in cases {
            let error = #expect(throws: PatternError.self) { try Pattern(text: text) }
            #expect(error?.message == message)
        }
    }

    @Test func everyProblemIsListed() throws {
        let json = try JSON.parse(#"{"source":"x","detail":{"a":[{"prefx":1},{"exists":"yes"}],"b":[]},"c":["ok"]}"#)
        let problems = Pattern.problems(in: json).map { PathComponent.dotted($0.path) }
        #expect(problems == ["source", "detail.a[0].prefx", "detail.a[1].exists", "detail.b"])
        #expect(Pattern.problems(in: try JSON.parse(#"{"c":["ok"]}"#)).isEmpty)
    }

    @Test func invalidJSONComesBackWithAnEmptyPath() {
        let error = #expect(throws: PatternError.self) { try Pattern(text: "{") }
        #expect(error?.path == [])
        #expect(error?.message.hasPrefix("invalid JSON") == true)
    }
}
