import Testing
@testable import SluiceStorage

@Suite struct JSONParserTests {
    @Test func parsesAndWritesBackKeepingOrderAndNumbers() throws {
        let text = #"{"b":1.50,"a":[true,false,null],"s":"x\"y\\z\n\u00e9\ud83d\ude00","n":{"k":-2e3}}"#
        let value = try JSONParser.parse(Array(text.utf8))
        #expect(value["b"] == .number("1.50"))
        #expect(value.value(at: ["n", "k"]) == .number("-2e3"))
        #expect(value["s"] == .string("x\"y\\z\né😀"))
        #expect(String(decoding: value.bytes, as: UTF8.self) == #"{"b":1.50,"a":[true,false,null],"s":"x\"y\\z\né😀","n":{"k":-2e3}}"#)
    }

    @Test(arguments: ["{", #"{"a" 1}"#, "[1,]", "01x", #""abc"#, "{} x", "tru", #""\q""#])
    func refusesInvalidJSON(_ text: String) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test func keyTextSpellsScalarsAsWritten() {
        #expect(JSONValue.bool(true).keyText == "true")
        #expect(JSONValue.number("42").keyText == "42")
        #expect(JSONValue.null.keyText == nil)
        #expect(JSONValue.object([]).keyText == nil)
    }
}
