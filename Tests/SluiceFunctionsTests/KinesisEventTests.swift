import Foundation
import SluiceEngine
import SluiceStorage
import Testing
@testable import SluiceFunctions

@Suite("KinesisEvent and FunctionAnswer: the handler's contract (FUNCTIONS.md)")
struct KinesisEventTests {
    @Test("the event is Lambda's Kinesis event, field for field, and parses as JSON with odd keys and binary data")
    func eventShape() throws {
        var settings = FunctionFixtures.settings()
        settings.region = "eu-west-1"
        settings.accountId = "123456789012"
        let records = [
            StoredRecord(offset: 7, timestampMillis: 1_607_497_475_123, partitionKey: "quote\"and\\slash\u{1}", data: [0, 255, 10, 34]),
            StoredRecord(offset: 8, timestampMillis: 1_607_497_475_005, partitionKey: "k", data: []),
        ]
        let event = KinesisEvent(settings: settings)
        let bytes = event.encode(shardIndex: 3, records: records)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let list = try #require(object["Records"] as? [[String: Any]])
        #expect(list.count == 2)
        let first = list[0]
        let kinesis = try #require(first["kinesis"] as? [String: Any])
        let sequence = SequenceNumber(shardIndex: 3, offset: 7).description
        #expect(kinesis["kinesisSchemaVersion"] as? String == "1.0")
        #expect(kinesis["partitionKey"] as? String == "quote\"and\\slash\u{1}")
        #expect(kinesis["sequenceNumber"] as? String == sequence)
        #expect(Data(base64Encoded: kinesis["data"] as? String ?? "") == Data([0, 255, 10, 34]))
        #expect((kinesis["approximateArrivalTimestamp"] as? Double).map { abs($0 - 1_607_497_475.123) < 0.0005 } == true)
        #expect(first["eventSource"] as? String == "aws:kinesis")
        #expect(first["eventVersion"] as? String == "1.0")
        #expect(first["eventID"] as? String == "shardId-000000000003:\(sequence)")
        #expect(first["eventName"] as? String == "aws:kinesis:record")
        #expect(first["invokeIdentityArn"] as? String == "arn:aws:iam::123456789012:role/sluiced")
        #expect(first["awsRegion"] as? String == "eu-west-1")
        #expect(first["eventSourceARN"] as? String == "arn:aws:kinesis:eu-west-1:123456789012:stream/events")
        #expect(String(decoding: bytes, as: UTF8.self).contains("\"approximateArrivalTimestamp\":1607497475.005}"))
        // The size estimate never undercounts what a record adds.
        let alone = event.encode(shardIndex: 3, records: [records[0]]).count - event.encode(shardIndex: 3, records: []).count
        #expect(event.size(of: records[0]) >= alone)
    }

    @Test("answers: empty and null are success; partial lists give the lowest failure; windows need state")
    func answers() throws {
        let sequences = ["a", "b", "c"]
        #expect(try FunctionAnswer.read([], sequenceNumbers: sequences, reportsItemFailures: true, windowed: false) == FunctionAnswer())
        #expect(try FunctionAnswer.read(Array("null".utf8), sequenceNumbers: sequences, reportsItemFailures: true, windowed: false) == FunctionAnswer())
        #expect(try FunctionAnswer.read(Array("{\"batchItemFailures\":null}".utf8), sequenceNumbers: sequences, reportsItemFailures: true, windowed: false).firstFailure == nil)
        let partial = try FunctionAnswer.read(
            Array("{\"batchItemFailures\":[{\"itemIdentifier\":\"c\"},{\"itemIdentifier\":\"b\"}]}".utf8),
            sequenceNumbers: sequences, reportsItemFailures: true, windowed: false
        )
        #expect(partial.firstFailure == 1)
        // Without ReportBatchItemFailures the list means nothing (as in Lambda).
        #expect(try FunctionAnswer.read(Array("{\"batchItemFailures\":[{\"itemIdentifier\":\"b\"}]}".utf8), sequenceNumbers: sequences, reportsItemFailures: false, windowed: false).firstFailure == nil)
        #expect(throws: FunctionAnswer.Malformed.self) {
            try FunctionAnswer.read(Array("{\"batchItemFailures\":\"b\"}".utf8), sequenceNumbers: sequences, reportsItemFailures: true, windowed: false)
        }
        #expect(throws: FunctionAnswer.Malformed.self) { try FunctionAnswer.read([], sequenceNumbers: [], reportsItemFailures: false, windowed: true) }
        #expect(throws: FunctionAnswer.Malformed.self) { try FunctionAnswer.read(Array("{\"state\":5}".utf8), sequenceNumbers: [], reportsItemFailures: false, windowed: true) }
        let windowed = try FunctionAnswer.read(Array("{\"state\":{\"n\":1}}".utf8), sequenceNumbers: [], reportsItemFailures: false, windowed: true)
        #expect(windowed.state == Array("{\"n\":1}".utf8))
    }

    @Test("fuzzed answers never trap: each is read or refused")
    func fuzzedAnswers() {
        var random = SystemRandomNumberGenerator()
        let pieces = ["{", "}", "[", "]", "\"batchItemFailures\"", ":", ",", "\"itemIdentifier\"", "\"a\"", "null", "1e999", "\"state\"", "{}", "\\u0000", "\"", "-", "0"]
        for _ in 0..<5_000 {
            let text = (0..<Int.random(in: 0...12, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            _ = try? FunctionAnswer.read(Array(text.utf8), sequenceNumbers: ["a", "b"], reportsItemFailures: true, windowed: Bool.random(using: &random))
        }
    }

    @Test("timestamps are written as AWS writes them")
    func isoTime() {
        #expect(ISOTime.string(millis: 1_573_691_884_835) == "2019-11-14T00:38:04.835Z")
        #expect(ISOTime.string(millis: 1_607_497_440_000, fraction: false) == "2020-12-09T07:04:00Z")
        #expect(ISOTime.string(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(KinesisEvent.seconds(1_607_497_475_000) == "1607497475.000")
        #expect(KinesisEvent.seconds(1_607_497_475_090) == "1607497475.090")
    }

    @Test("lanes: a key always maps to the same lane; keys spread over all lanes; windows align to the epoch")
    func lanesAndWindows() {
        var seen = Set<Int>()
        for k in 0..<200 {
            let lane = ShardWork.lane(of: "device-\(k)", lanes: 4)
            #expect(lane == ShardWork.lane(of: "device-\(k)", lanes: 4))
            seen.insert(lane)
        }
        #expect(seen == [0, 1, 2, 3])
        #expect(ShardWork.windowStart(1_607_497_475_123, 60_000) == 1_607_497_440_000)
        #expect(ShardWork.windowStart(-1, 60_000) == -60_000)
        // Arrival times from a damaged log: a wrong window at worst, never a trap.
        _ = ShardWork.windowStart(.min, 60_000)
        _ = ShardWork.windowStart(.max, 900_000)
        _ = ISOTime.string(millis: .min)
        _ = ISOTime.string(millis: .max)
        _ = KinesisEvent.seconds(.min)
    }
}
