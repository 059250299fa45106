import Testing
@testable import SluiceFunctions

@Suite("FilterPattern: Lambda's event filtering syntax on Kinesis records")
struct FilterPatternTests {
    private func record(_ data: String, key: String = "device-1") -> FilterableRecord {
        FilterableRecord(partitionKey: key, sequenceNumber: "1", arrivalMillis: 1_700_000_000_000, data: Array(data.utf8))
    }

    private func matches(_ pattern: String, _ data: String, key: String = "device-1") throws -> Bool {
        try FilterPattern(pattern).matches(record(data, key: key))
    }

    @Test("equals, prefix, suffix and equals-ignore-case on data fields and the partition key")
    func stringMatchers() throws {
        #expect(try matches(#"{"data": {"kind": ["alarm"]}}"#, #"{"kind": "alarm"}"#))
        #expect(try !matches(#"{"data": {"kind": ["alarm"]}}"#, #"{"kind": "info"}"#))
        #expect(try matches(#"{"data": {"kind": ["info", "alarm"]}}"#, #"{"kind": "alarm"}"#))
        #expect(try matches(#"{"partitionKey": [{"prefix": "device-"}]}"#, "not json"))
        #expect(try !matches(#"{"partitionKey": [{"prefix": "sensor-"}]}"#, "{}"))
        #expect(try matches(#"{"data": {"file": [{"suffix": ".log"}]}}"#, #"{"file": "a.log"}"#))
        #expect(try matches(#"{"data": {"level": [{"equals-ignore-case": "WARN"}]}}"#, #"{"level": "warn"}"#))
    }

    @Test("numeric ranges compare numbers as numbers; a number equals its other spellings")
    func numeric() throws {
        let hot = #"{"data": {"temperature": [{"numeric": [">", 30, "<=", 50]}]}}"#
        #expect(try matches(hot, #"{"temperature": 30.5}"#))
        #expect(try matches(hot, #"{"temperature": 50}"#))
        #expect(try !matches(hot, #"{"temperature": 30}"#))
        #expect(try !matches(hot, #"{"temperature": "40"}"#))
        #expect(try matches(#"{"data": {"n": [5]}}"#, #"{"n": 5.0}"#))
        #expect(try matches(#"{"data": {"n": [{"numeric": ["=", 100]}]}}"#, #"{"n": 1e2}"#))
    }

    @Test("exists, anything-but, nested fields, arrays and null")
    func structure() throws {
        #expect(try matches(#"{"data": {"error": [{"exists": true}]}}"#, #"{"error": "x"}"#))
        #expect(try !matches(#"{"data": {"error": [{"exists": true}]}}"#, #"{"ok": 1}"#))
        #expect(try matches(#"{"data": {"error": [{"exists": false}]}}"#, #"{"ok": 1}"#))
        #expect(try matches(#"{"data": {"kind": [{"anything-but": ["debug", "trace"]}]}}"#, #"{"kind": "info"}"#))
        #expect(try !matches(#"{"data": {"kind": [{"anything-but": "debug"}]}}"#, #"{"kind": "debug"}"#))
        #expect(try !matches(#"{"data": {"kind": [{"anything-but": {"prefix": "deb"}}]}}"#, #"{"kind": "debug"}"#))
        #expect(try matches(#"{"data": {"site": {"room": ["lab"]}}}"#, #"{"site": {"room": "lab"}}"#))
        #expect(try matches(#"{"data": {"tags": ["red"]}}"#, #"{"tags": ["blue", "red"]}"#))
        #expect(try matches(#"{"data": {"v": [null]}}"#, #"{"v": null}"#))
        // All fields must match.
        #expect(try !matches(#"{"partitionKey": ["device-1"], "data": {"kind": ["alarm"]}}"#, #"{"kind": "info"}"#))
    }

    @Test("a pattern on data never matches data that is not a JSON object")
    func nonJSONData() throws {
        #expect(try !matches(#"{"data": {"kind": [{"exists": false}]}}"#, "plain text line"))
        #expect(try !matches(#"{"data": {"kind": ["alarm"]}}"#, "[1,2]"))
    }

    @Test("invalid patterns are refused with what is wrong", arguments: [
        ("[]", "JSON object"), ("{}", "JSON object"), ("{\"data\": 5}", "array of values"), ("{\"data\": {\"a\": []}}", "empty array"),
        ("{\"data\": {\"a\": [{\"numeric\": [\">\"]}]}}", "one or two comparisons"), ("{\"data\": {\"a\": [{\"numeric\": [\"!=\", 1]}]}}", "=, <"),
        ("{\"data\": {\"a\": [{\"wildcard\": \"x\"}]}}", "unknown matcher"), ("{\"data\": {\"a\": [{\"prefix\": 1}]}}", "takes a string"),
        ("{\"data\": {\"a\": [[1]]}}", "do not nest"), ("not json", "not JSON"),
    ])
    func invalid(pattern: String, problem: String) {
        #expect {
            try FilterPattern(pattern)
        } throws: { error in
            "\(error)".contains(problem)
        }
    }

    @Test("a pattern longer than Lambda's 4,096 characters is refused")
    func tooLong() {
        let long = "{\"partitionKey\": [\"" + String(repeating: "a", count: 4100) + "\"]}"
        #expect(throws: FilterPattern.Invalid.self) { try FilterPattern(long) }
    }
}
