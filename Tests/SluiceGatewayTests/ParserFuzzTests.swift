import Testing
import SluiceTestSupport
@testable import SluiceGateway

/// Seeded fuzzing of the parsers that read bytes a tailed file or an MQTT broker controls:
/// each damaged line is parsed or refused, never a trap.
@Suite struct ParserFuzzTests {
    static let seeds: [(LineParser, String)] = [
        (.json, #"{"device":{"id":"d-1","temp":21.5e3},"tags":["a","b\u00e9\n"],"ok":true,"n":null,"big":123456789012345678901234567890}"#),
        (.syslog, #"<165>1 2003-10-11T22:14:15.003Z host app 42 ID47 [sd@1 a="1"] message"#),
        (.syslog, "<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed"),
        (.apacheCombined, #"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "http://x/" "Mozilla/4.08""#),
        (.apacheCommon, #"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 404 -"#),
        (.csv(columns: ["a", "b", "c"], delimiter: UInt8(ascii: ",")), #"1,"two, ""quoted""",3"#),
    ]

    @Test func everyParserSurvivesDamagedLines() {
        var random = SeededRandom(seed: 21)
        for (parser, line) in Self.seeds {
            let valid = Array(line.utf8)
            if case .failure(let failure) = parser.parse(valid[...]) { Issue.record("the seed itself fails: \(failure.message)") }
            for _ in 0..<3_000 {
                _ = parser.parse(ByteMutator.mutate(valid, &random)[...])
            }
        }
    }

    @Test func deepNestingIsRefusedNotAStackOverflow() {
        let deep = [UInt8](repeating: UInt8(ascii: "["), count: 200_000)
        guard case .failure = LineParser.json.parse(deep[...]) else { Issue.record("accepted"); return }
    }
}
