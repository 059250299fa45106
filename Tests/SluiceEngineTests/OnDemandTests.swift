import Testing
import SluiceStorage
import SluiceTestSupport
@testable import SluiceEngine

@Suite struct OnDemandTests {
    @Test func aHotShardIsSplitAndColdNeighboursAreMergedBack() async throws {
        var fixture = EngineFixture()
        fixture.options.onDemandQuietMillis = 60_000
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "od", shardCount: nil, mode: .onDemand)
        #expect(try engine.catalog.metadata(of: "od").openShards.count == 4)
        // Keys that all hash into shard 0 (the lowest quarter of the hash space).
        let quarter = UInt128.max / 4
        let hotKeys = (0..<5000).map { "key-\($0)" }.filter { HashKey.of(partitionKey: $0) <= quarter }.prefix(900)
        _ = try await engine.writer.putRecords(stream: "od", records: hotKeys.prefix(450).map { record($0, "x") })
        _ = try await engine.writer.putRecords(stream: "od", records: hotKeys.suffix(450).map { record($0, "x") })
        fixture.clock.advance(millis: 1000)
        let actions = await engine.autoscaler.scaleOnDemandStreams()
        #expect(actions == ["split hot shard shardId-000000000000 of od"])
        #expect(try engine.catalog.metadata(of: "od").openShards.count == 5)
        // The hot range now has two shards, so twice the rate gets through.
        fixture.clock.advance(millis: 1000)
        let outcomes = try await engine.writer.putRecords(stream: "od", records: hotKeys.prefix(500).map { record($0, "y") })
            + (try await engine.writer.putRecords(stream: "od", records: hotKeys.suffix(400).map { record($0, "y") }))
        #expect(!outcomes.contains { if case .failed = $0 { true } else { false } })

        // Quiet for longer than the quiet period: the split is merged back, never below 4.
        for _ in 0..<4 {
            fixture.clock.advance(millis: 40_000)
            await engine.autoscaler.scaleOnDemandStreams()
        }
        #expect(try engine.catalog.metadata(of: "od").openShards.count == 4)
        #expect(try engine.readEverything("od").count == 1800)
    }

    @Test func provisionedStreamsAreLeftAloneAndModesSwitch() async throws {
        let fixture = EngineFixture()
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "p", shardCount: 1)
        for _ in 0..<2 { _ = try await engine.writer.putRecords(stream: "p", records: (0..<500).map { record("k\($0)", "x") }) }
        fixture.clock.advance(millis: 1000)
        #expect(await engine.autoscaler.scaleOnDemandStreams().isEmpty)
        try engine.catalog.updateStreamMode(stream: "p", mode: .onDemand)
        for _ in 0..<2 { _ = try await engine.writer.putRecords(stream: "p", records: (0..<500).map { record("k\($0)", "x") }) }
        fixture.clock.advance(millis: 1000)
        #expect(await engine.autoscaler.scaleOnDemandStreams().count == 1)
        let (_, after) = try engine.catalog.setEnhancedMonitoring(stream: "p", metrics: ["ALL"], enable: true)
        #expect(after.count == 7)
        #expect(try engine.catalog.setEnhancedMonitoring(stream: "p", metrics: ["IncomingBytes"], enable: false).1.count == 6)
    }
}
