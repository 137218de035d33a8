import Testing
@testable import KumoEvents

@Suite struct PathTests {
    @Test func dottedPathsJoinKeysAndIndices() {
        #expect(PathComponent.dotted([.key("detail"), .key("items"), .index(0), .key("id")]) == "detail.items[0].id")
        #expect(PathComponent.dotted([]) == "")
        #expect(PatternError(path: [.key("detail"), .key("total")], message: "bad").description == "detail.total: bad")
    }
}
