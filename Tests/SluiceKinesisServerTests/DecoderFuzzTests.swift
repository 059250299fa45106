import Crypto
import Foundation
import Logging
import Testing
import SluiceEngine
import SluiceStorage
import SluiceTestSupport
import SluiceKinesis
@testable import SluiceKinesisServer

/// Seeded fuzzing of the decoders that read bytes a client controls: KPL aggregated
/// records (with a matching MD5, so the protobuf parser itself is reached) and request
/// bodies for every action. Each input must be answered or rejected, never trap.
@Suite struct KinesisDecoderFuzzTests {
    static let iterations = 3_000

    @Test func kplAggregatedRecords() {
        let records = (0..<20).map { KPLAggregatedRecord.UserRecord(partitionKey: "k\($0 % 3)", explicitHashKey: $0 % 5 == 0 ? "\($0)" : nil, data: Array("r\($0)".utf8)) }
        let valid = KPLAggregatedRecord.pack(records, maxBytes: 1 << 20)[0].data
        let body = Array(valid[KPLAggregatedRecord.magic.count..<(valid.count - 16)])
        var random = SeededRandom(seed: 11)
        for _ in 0..<Self.iterations {
            let damaged = ByteMutator.mutate(body, &random)
            let framed = KPLAggregatedRecord.magic + damaged + Array(Insecure.MD5.hash(data: damaged))
            _ = try? KPLAggregatedRecord.unpack(framed, partitionKey: "p")
        }
        // The length ≥ 2^63 of the finding: a record (AggregatedRecord field 3, 11 bytes)
        // whose data field (Record field 3, wire type 2) declares it.
        let crafted: [UInt8] = [0x1A, 0x0B] + [0x1A] + [UInt8](repeating: 0xFF, count: 9) + [0x01]
        let framed = KPLAggregatedRecord.magic + crafted + Array(Insecure.MD5.hash(data: crafted))
        #expect(throws: KPLFormatError.self) { try KPLAggregatedRecord.unpack(framed, partitionKey: "p") }
    }

    @Test func requestBodiesForEveryAction() async throws {
        let tmp = TemporaryDirectory("sluice-fuzz")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let dispatcher = KinesisDispatcher(engine: try StreamEngine(dataDirectory: tmp.path, clock: ManualTimeSource(), logger: logger))
        _ = try await dispatcher.handle(action: "CreateStream", body: Data(#"{"StreamName":"s","ShardCount":2}"#.utf8))
        let valid = Array(#"{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"AT_TIMESTAMP","Timestamp":1.5,"Limit":10,"Records":[{"PartitionKey":"k","Data":"aGk="}],"TargetShardCount":2,"RetentionPeriodHours":48,"MaxResults":5}"#.utf8)
        let numbers = ["1e400", "-1e308", "9223372036854775808", "-1", "0", "1.5", "NaN", "1e16", "\"x\"", "null", "[]", "{}"]
        var random = SeededRandom(seed: 12)
        let actions = KinesisDispatcher.supportedActions.filter { $0 != "DeleteStream" }
        for iteration in 0..<Self.iterations {
            let action = actions[iteration % actions.count]
            var text = String(decoding: valid, as: UTF8.self)
            if iteration % 3 == 0 {
                text = String(decoding: ByteMutator.mutate(valid, &random), as: UTF8.self)
            } else {
                // Every number in the body replaced by an edge value.
                for number in ["1.5", "10", "2", "48", "5"] {
                    text = text.replacingOccurrences(of: ":\(number)", with: ":" + numbers.randomElement(using: &random)!)
                }
            }
            do {
                _ = try await dispatcher.handle(action: action, body: Data(text.utf8))
            } catch let error as KinesisError {
                #expect(error.status < 500, "\(action) \(text): \(error)")
            }
        }
        // Still serving after every input.
        _ = try await dispatcher.handle(action: "DescribeStreamSummary", body: Data(#"{"StreamName":"s"}"#.utf8))
    }
}
