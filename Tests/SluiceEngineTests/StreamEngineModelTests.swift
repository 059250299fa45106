import Testing
import SluiceStorage
import SluiceTestSupport
@testable import SluiceEngine

/// Random puts (single and batched, some throttled), restarts and reads against a model
/// of what was acknowledged: every acknowledged record is read back exactly once, in
/// per-key order, from the shard its hash key maps to; nothing unacknowledged appears.
@Suite struct StreamEngineModelTests {
    @Test(arguments: [11, 12, 13] as [UInt64])
    func randomPutsAndRestartsMatchTheModel(seed: UInt64) async throws {
        var random = SeededRandom(seed: seed)
        var fixture = EngineFixture()
        fixture.options.shardWriteRecordsPerSecond = 60
        var engine = try fixture.open()
        try engine.catalog.createStream(name: "m", shardCount: 3)
        let ranges = HashKey.evenRanges(count: 3)
        var acknowledged: [String: [String]] = [:]
        var counter = 0

        for _ in 0..<150 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<6:
                let batch = (0..<Int.random(in: 1...40, using: &random)).map { _ -> PutRecordInput in
                    counter += 1
                    let key = "dev\(Int.random(in: 0..<25, using: &random))"
                    return record(key, "\(key):\(counter)")
                }
                let outcomes = try await engine.writer.putRecords(stream: "m", records: batch)
                for (input, outcome) in zip(batch, outcomes) {
                    if case .stored(let sequence) = outcome {
                        let expected = ranges.firstIndex { $0.contains(HashKey.of(partitionKey: input.partitionKey)) }!
                        #expect(sequence.shardIndex == expected)
                        #expect(SequenceNumber(sequence.description) == sequence)
                        acknowledged[input.partitionKey, default: []].append(String(decoding: input.data, as: UTF8.self))
                    }
                }
            case 6..<8:
                fixture.clock.advance(millis: Int64.random(in: 100...1500, using: &random))
            case 8:
                await engine.close()
                engine = try fixture.open()
            default:
                let all = try engine.readEverything("m")
                #expect(all.count == acknowledged.values.reduce(0) { $0 + $1.count })
            }
        }
        let all = try engine.readEverything("m")
        var read: [String: [String]] = [:]
        for (_, stored) in all { read[stored.partitionKey, default: []].append(String(decoding: stored.data, as: UTF8.self)) }
        #expect(read == acknowledged)
    }
}
