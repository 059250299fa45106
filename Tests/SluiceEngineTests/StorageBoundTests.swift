import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceEngine

/// A stream's `max_bytes`: refused puts with `reject`, the oldest segments dropped (and
/// counted) with `drop_oldest`; stored + dropped always equals what was accepted.
@Suite struct StorageBoundTests {
    func engine() throws -> (StreamEngine, EngineFixture) {
        var fixture = EngineFixture()
        fixture.options.log.segmentMaxBytes = 4096
        fixture.options.enforceWriteLimits = false
        return (try fixture.open(), fixture)
    }

    func payload(_ n: Int) -> PutRecordInput { record("key-\(n % 13)", String(repeating: "x", count: 200) + "-\(n)") }

    @Test func rejectRefusesPutsOnceTheStreamIsFullAndLosesNothingAccepted() async throws {
        let (engine, _) = try engine()
        try engine.catalog.createStream(name: "s", shardCount: 2)
        engine.writer.setStorageBound(stream: "s", StorageBound(maxBytes: 32_768, onFull: .reject))
        var accepted = 0
        var refused = 0
        for n in stride(from: 0, to: 1000, by: 10) {
            for outcome in try await engine.writer.putRecords(stream: "s", records: (n..<n + 10).map(payload)) {
                switch outcome {
                case .stored: accepted += 1
                case .failed(let error):
                    #expect(error.kind == .provisionedThroughputExceeded)
                    #expect(error.message.contains("max_bytes"))
                    refused += 1
                }
            }
        }
        #expect(refused > 0 && accepted > 0)
        let status = try #require(engine.writer.storageStatus().first)
        #expect(status.records == UInt64(accepted))
        #expect(status.rejectedRecords == UInt64(refused))
        #expect(status.droppedRecords == 0)
        #expect(try engine.readEverything("s").count == accepted)
    }

    @Test func dropOldestKeepsTheNewestAndCountsWhatWent() async throws {
        let (engine, _) = try engine()
        try engine.catalog.createStream(name: "s", shardCount: 2)
        engine.writer.setStorageBound(stream: "s", StorageBound(maxBytes: 32_768, onFull: .dropOldest))
        let consumer = try engine.reader.durableConsumer(stream: "s", name: "late")
        let written = 1000
        for n in stride(from: 0, to: written, by: 10) {
            let outcomes = try await engine.writer.putRecords(stream: "s", records: (n..<n + 10).map(payload))
            #expect(outcomes.allSatisfy { if case .stored = $0 { true } else { false } })
        }
        let status = try #require(engine.writer.storageStatus().first)
        #expect(status.droppedRecords > 0)
        #expect(status.records + status.droppedRecords == UInt64(written))
        #expect(status.bytes <= 32_768)
        // The newest record is kept; what a consumer had not read shows as missed.
        let kept = try engine.readEverything("s").map { String(decoding: $0.record.data, as: UTF8.self) }
        #expect(kept.contains { $0.hasSuffix("-\(written - 1)") })
        for shard in try consumer.readableShards() { _ = try consumer.read(shard: shard, maxRecords: 10_000, maxBytes: 1 << 30) }
        #expect(consumer.status().missedRecords == status.droppedRecords)
    }
}
