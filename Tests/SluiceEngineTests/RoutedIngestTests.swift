import SluiceStorage
import Testing
@testable import SluiceEngine

/// A batch routed by its producer (ShardRoute) is appended where the route says while the
/// route's shard map is current, without hashing its keys again; a stale route is ignored
/// and the engine routes by hash key.
@Suite struct RoutedIngestTests {
    @Test("a current route is trusted: the batch goes to its shard, whatever the keys hash to")
    func currentRouteIsTrusted() async throws {
        let fixture = EngineFixture()
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 2)
        let map = try engine.catalog.shardMap(stream: "s")
        // Keys that hash to shard 0, sent with a route naming shard 1: only a route taken
        // as given (no second hashing) puts them in shard 1.
        let keys = (0..<200).map { "key-\($0)" }.filter { map.route(partitionKey: $0)!.index == map.open[0].index }.prefix(20)
        let records = keys.map { record($0, "v-\($0)") }
        let target = map.open[1].index
        let outcomes = try await engine.writer.ingest(stream: "s", records: Array(records), routedTo: ShardRoute(index: target, mapVersion: map.version))
        #expect(outcomes.allSatisfy { if case .stored(let sequence) = $0 { sequence.shardIndex == target } else { false } })
        #expect(try engine.readEverything("s").allSatisfy { $0.shard == target })
        await engine.close()
    }

    @Test("a stale route is ignored: after a split the engine routes by hash key to the children")
    func staleRouteIsRoutedAgain() async throws {
        let fixture = EngineFixture()
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        let before = try engine.catalog.shardMap(stream: "s")
        let parent = before.open[0]
        try await engine.resharder.splitShard(stream: "s", shardId: parent.shardId, newStartingHashKey: String(parent.hashKeyRange.upperBound / 2))
        let after = try engine.catalog.shardMap(stream: "s")
        #expect(after.version != before.version)
        let records = (0..<100).map { record("key-\($0)", "v-\($0)") }
        let outcomes = try await engine.writer.ingest(stream: "s", records: records, routedTo: ShardRoute(index: parent.index, mapVersion: before.version))
        for (input, outcome) in zip(records, outcomes) {
            guard case .stored(let sequence) = outcome else {
                Issue.record("not stored: \(outcome)")
                continue
            }
            #expect(sequence.shardIndex == after.route(partitionKey: input.partitionKey)!.index, "each record in the child owning its key")
        }
        await engine.close()
    }

    @Test("a routed batch is still validated: a key over 256 characters refuses the batch")
    func routedBatchIsValidated() async throws {
        let fixture = EngineFixture()
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        let map = try engine.catalog.shardMap(stream: "s")
        await #expect(throws: EngineError.self) {
            _ = try await engine.writer.ingest(stream: "s", records: [record(String(repeating: "k", count: 257), "x")],
                                        routedTo: ShardRoute(index: map.open[0].index, mapVersion: map.version))
        }
        await engine.close()
    }
}
