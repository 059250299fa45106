import SluiceStorage
import Testing
@testable import SluiceGateway

@Suite struct LineParserTests {
    func parse(_ parser: LineParser, _ line: String) -> Result<JSONValue?, LineParser.Failure> {
        parser.parse(Array(line.utf8)[...])
    }

    func object(_ parser: LineParser, _ line: String) -> JSONValue? {
        if case .success(let value) = parse(parser, line) { return value }
        return nil
    }

    @Test func syslog3164WithAndWithoutPriority() {
        let value = object(.syslog, "<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick")
        #expect(value?["facility"] == .number("4"))
        #expect(value?["severity"] == .number("2"))
        #expect(value?["timestamp"] == .string("Oct 11 22:14:15"))
        #expect(value?["host"] == .string("mymachine"))
        #expect(value?["app"] == .string("su"))
        #expect(value?["pid"] == .string("230"))
        #expect(value?["message"] == .string("'su root' failed for lonvick"))
        let plain = object(.syslog, "Nov  3 09:00:01 edge CRON: job done")
        #expect(plain?["app"] == .string("CRON"))
        #expect(plain?["facility"] == nil)
    }

    @Test func syslog5424() {
        let value = object(.syslog, #"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event"#)
        #expect(value?["timestamp"] == .string("2003-10-11T22:14:15.003Z"))
        #expect(value?["app"] == .string("evntslog"))
        #expect(value?["procid"] == nil)
        #expect(value?["msgid"] == .string("ID47"))
        #expect(value?["structured_data"] == .string(#"[exampleSDID@32473 iut="3" eventSource="Application"]"#))
        #expect(value?["message"] == .string("An application event"))
    }

    @Test func syslogRefusesOtherText() {
        guard case .failure(let failure) = parse(.syslog, "hello world") else { Issue.record("parsed"); return }
        #expect(failure.message.contains("syslog"))
    }

    @Test func apacheCommonAndCombined() {
        let common = object(.apacheCommon, #"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#)
        #expect(common?["user"] == .string("frank"))
        #expect(common?["ident"] == .null)
        #expect(common?["path"] == .string("/apache_pb.gif"))
        #expect(common?["status"] == .number("200"))
        #expect(common?["bytes"] == .number("2326"))
        let combined = object(.apacheCombined, #"10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "POST /x HTTP/1.1" 404 - "http://ref/" "curl/8.0 \"q\"""#)
        #expect(combined?["agent"] == .string(#"curl/8.0 "q""#))
        #expect(combined?["referer"] == .string("http://ref/"))
        #expect(combined?["bytes"] == .number("0"))
        #expect(object(.apacheCombined, #"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1"#) == nil)
    }

    @Test func csvWithQuotes() {
        let parser = LineParser.csv(columns: ["time", "level", "msg"], delimiter: UInt8(ascii: ","))
        #expect(object(parser, #"12:00,WARN,"disk ""sda"" at 91%, still rising""#)
            == .object([("time", .string("12:00")), ("level", .string("WARN")), ("msg", .string(#"disk "sda" at 91%, still rising"#))]))
        guard case .failure(let failure) = parse(parser, "a,b") else { Issue.record("parsed"); return }
        #expect(failure.message.contains("expected 3 columns"))
    }

    @Test func recordBuilderKeepsUnparsableLinesWithTheError() throws {
        let builder = RecordBuilder(
            parser: .json, mapper: PartitionKeyMapper(template: try PartitionKeyTemplate("{json.id}")),
            addMetadata: true, host: "edge", maxRecordBytes: 1 << 20, marker: Array("~".utf8)
        )
        let bad = builder.build(Array("not json".utf8), filePath: "/l/a.log")
        #expect(bad.parseError != nil)
        let data = try JSONParser.parse(bad.record.data)
        #expect(data["message"] == .string("not json"))
        #expect(data["parse_error"] != nil)
        #expect(data["host"] == .string("edge"))
        #expect(bad.record.partitionKey == "unknown")
        let good = builder.build(Array(#"{"id":"d1","v":1}"#.utf8), filePath: "/l/a.log")
        #expect(good.record.partitionKey == "d1")
        #expect(String(decoding: good.record.data, as: UTF8.self) == #"{"id":"d1","v":1,"host":"edge","file":"/l/a.log"}"#)
    }
}
