import Foundation
import Logging
import SluiceEngine
import SluiceStorage
import SluiceTestSupport
import Synchronization
import Testing
@testable import SluiceGateway

/// A real engine and a gateway in front of it, with the gateway's drains running.
final class GatewayHarness: Sendable {
    let tmp = TemporaryDirectory("sluice-gateway")
    let engine: StreamEngine
    let gateway: Gateway
    private let drains: Task<Void, Never>

    /// - Parameter sink: what the gateway stores through, given the engine (default: the engine itself).
    init(
        shards: Int, rates: ShardRateLimiter.Rates, spoolMaxBytes: Int64 = 1 << 30, onFull: SpoolFullPolicy = .block,
        time: any TimeSource = SystemTimeSource(), sink: (StreamEngine) -> any GatewaySink = { EmbeddedSink(engine: $0) }
    ) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var options = EngineOptions()
        options.enforceReadLimits = false
        engine = try StreamEngine(dataDirectory: tmp.path, options: options, logger: logger)
        try engine.catalog.createStream(name: "s", shardCount: shards)
        var settings = Gateway.Settings()
        settings.rates = rates
        settings.spoolMaxBytes = spoolMaxBytes
        settings.onFull = onFull
        let gateway = Gateway(sink: sink(engine), dataDirectory: tmp.path, settings: settings, keys: nil, keyId: nil, time: time, logger: logger)
        self.gateway = gateway
        drains = Task { await gateway.runDrains() }
    }

    func stop() async {
        drains.cancel()
        await gateway.shutdown()
        await engine.close()
    }

    func stored() throws -> [String] { try storedPayloads(engine) }

    func waitForStored(_ count: Int, seconds: Int = 60) async throws -> [String] {
        try await waitForPayloads(engine, count, seconds: seconds)
    }
}

/// Payloads of stream "s", parents' shards read before their children (as the KCL does).
func storedPayloads(_ engine: StreamEngine) throws -> [String] {
    var out: [String] = []
    for shard in try engine.catalog.metadata(of: "s").shards.sorted(by: { $0.index < $1.index }) {
        var iterator: String? = try engine.reader.shardIterator(stream: "s", shardId: shard.id, start: .trimHorizon)
        while let current = iterator {
            let page = try engine.reader.getRecords(iterator: current, limit: 1000)
            out += page.records.map { String(decoding: $0.data, as: UTF8.self) }
            iterator = page.records.isEmpty ? nil : page.nextShardIterator
        }
    }
    return out
}

/// Waits (up to `seconds`) until `count` records of stream "s" are stored.
func waitForPayloads(_ engine: StreamEngine, _ count: Int, seconds: Int = 60) async throws -> [String] {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        let all = try storedPayloads(engine)
        if all.count >= count { return all }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try storedPayloads(engine)
}

func numbered(_ range: Range<Int>, key: String = "k", size: Int = 16) -> [PutRecordInput] {
    range.map { PutRecordInput(partitionKey: key, data: Array(String(format: "%0\(size)d", $0).utf8)) }
}

@Suite(.serialized) struct GatewayTests {
    @Test func overTheLimitRecordsSpoolAndDrainInOrder() async throws {
        let harness = try await GatewayHarness(shards: 1, rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 200))
        for batch in 0..<6 { try await harness.gateway.submit(stream: "s", records: numbered(batch * 100..<(batch + 1) * 100)) }
        let shard = harness.gateway.status().streams[0].shards[0]
        #expect(shard.spooledRecords > 0, "records over the limit went to the spool")
        let stored = try await harness.waitForStored(600)
        #expect(stored == (0..<600).map { String(format: "%016d", $0) })
        // The lane counts a drained batch just after the engine stored it.
        var after = harness.gateway.status().streams[0].shards[0]
        for _ in 0..<100 where after.spoolRecords > 0 || after.directRecords + after.drainedRecords < 600 {
            try await Task.sleep(for: .milliseconds(20))
            after = harness.gateway.status().streams[0].shards[0]
        }
        #expect(after.spoolRecords == 0)
        #expect(after.directRecords + after.drainedRecords == 600)
        await harness.stop()
    }

    @Test("records spooled with an explicit hash key are drained into that key's shard, not their partition key's")
    func spooledRecordsKeepTheirExplicitHashKey() async throws {
        let harness = try await GatewayHarness(shards: 2, rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 200))
        let map = try harness.engine.catalog.shardMap(stream: "s")
        let byPartitionKey = map.route(partitionKey: "k")!.index
        let explicit = byPartitionKey == 0 ? "340282366920938463463374607431768211455" : "0"
        let target = map.route(partitionKey: "k", explicitHashKey: explicit)!
        #expect(target.index != byPartitionKey)
        try await harness.gateway.submit(stream: "s", records: numbered(0..<500).map { record in
            var record = record
            record.explicitHashKey = explicit
            return record
        })
        #expect(harness.gateway.status().streams[0].shards.contains { $0.spoolRecords > 0 }, "some records went through the spool")
        let stored = try await harness.waitForStored(500)
        #expect(stored == (0..<500).map { String(format: "%016d", $0) })
        var iterator: String? = try harness.engine.reader.shardIterator(stream: "s", shardId: target.shardId, start: .trimHorizon)
        var inTarget = 0
        while let current = iterator {
            let page = try harness.engine.reader.getRecords(iterator: current, limit: 1000)
            inTarget += page.records.count
            iterator = page.records.isEmpty ? nil : page.nextShardIterator
        }
        #expect(inTarget == 500, "every record in the explicit hash key's shard")
        await harness.stop()
    }

    @Test("records the sink refuses (throttled) are spooled behind what it stored and drained in order")
    func refusedRecordsSpoolAndDrainInOrder() async throws {
        let harness = try await GatewayHarness(shards: 1, rates: .init(bytesPerSecond: 1 << 30, recordsPerSecond: 1 << 30)) {
            ScriptedSink(EmbeddedSink(engine: $0), script: [.store(300), .refuse(200, .provisionedThroughputExceeded), .store(1_000_000)])
        }
        try await harness.gateway.submit(stream: "s", records: numbered(0..<500))
        let shard = harness.gateway.status().streams[0].shards[0]
        #expect(shard.directRecords == 300 && shard.spooledRecords == 200, "the refused 200 were spooled")
        let stored = try await harness.waitForStored(500)
        #expect(stored == (0..<500).map { String(format: "%016d", $0) })
        await harness.stop()
    }

    @Test func blockWaitsForRoomAndLosesNothing() async throws {
        let harness = try await GatewayHarness(shards: 1, rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 100), spoolMaxBytes: 64 << 10)
        let done = Mutex(false)
        let submit = Task {
            try await harness.gateway.submit(stream: "s", records: numbered(0..<400, size: 1024))
            done.withLock { $0 = true }
        }
        // The event: the producer is waiting for room (then it has not returned).
        let deadline = ContinuousClock.now + .seconds(60)
        while harness.gateway.budget.waitingProducers == 0, !done.withLock({ $0 }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        let status = harness.gateway.status()
        #expect(harness.gateway.budget.waitingProducers == 1 && !done.withLock { $0 }, "the producer waits while the spool is full")
        #expect(status.streams[0].shards[0].spoolRecords > 0)
        #expect(status.spool.usedBytes <= status.spool.maxBytes + 4096, "the spool stays within its bound")
        try await submit.value
        let stored = try await harness.waitForStored(400)
        #expect(stored == (0..<400).map { String(format: "%01024d", $0) })
        await harness.stop()
    }

    @Test func dropOldestDropsWholeSegmentsAndCountsThem() async throws {
        let harness = try await GatewayHarness(shards: 1, rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 1), spoolMaxBytes: 1 << 20, onFull: .dropOldest)
        for batch in 0..<4 { try await harness.gateway.submit(stream: "s", records: numbered(batch * 100..<(batch + 1) * 100, size: 10_000)) }
        let status = harness.gateway.status()
        let shard = status.streams[0].shards[0]
        #expect(status.spool.droppedRecords > 0)
        let stored = try harness.stored().count
        #expect(UInt64(stored) + shard.spoolRecords + status.spool.droppedRecords == 400, "every record is stored, spooled or counted as dropped")
        #expect(shard.spoolRecords > 0, "only the oldest segments went")
        await harness.stop()
    }

    /// #7's last item: the limiter follows the engine's map across a split, and records
    /// spooled for the parent are stored before newer records of the same key.
    @Test func followsReshardingAndKeepsPerKeyOrder() async throws {
        let harness = try await GatewayHarness(shards: 1, rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 100))
        try await harness.gateway.submit(stream: "s", records: numbered(0..<150))
        let parent = try harness.engine.catalog.metadata(of: "s").shards[0]
        let middle = parent.hashKeyRange.upperBound / 2
        try await harness.engine.resharder.splitShard(stream: "s", shardId: parent.id, newStartingHashKey: String(middle))
        try await harness.gateway.submit(stream: "s", records: numbered(150..<250))
        let stored = try await harness.waitForStored(250)
        #expect(stored == (0..<250).map { String(format: "%016d", $0) })
        let status = harness.gateway.status().streams[0]
        #expect(status.shards.contains { $0.shardId == parent.id && !$0.open } || !status.shards.contains { $0.shardId == parent.id })
        #expect(status.shards.filter(\.open).count == 2)
        await harness.stop()
    }

    /// A shard closed by resharding while sluiced was down: its spool is found at the next
    /// start, drained to the shards that own its keys now, and stored before new records.
    @Test func aSpoolLeftByAClosedShardDrainsFirstAfterRestart() async throws {
        let tmp = TemporaryDirectory("sluice-gateway")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var options = EngineOptions()
        options.enforceReadLimits = false
        let engine = try StreamEngine(dataDirectory: tmp.path, options: options, logger: logger)
        try engine.catalog.createStream(name: "s", shardCount: 1)
        var settings = Gateway.Settings()
        settings.rates = .init(bytesPerSecond: 1 << 20, recordsPerSecond: 50)
        func open() -> (Gateway, Task<Void, Never>) {
            let gateway = Gateway(sink: EmbeddedSink(engine: engine), dataDirectory: tmp.path, settings: settings, keys: nil, keyId: nil, logger: logger)
            return (gateway, Task { await gateway.runDrains() })
        }
        var (gateway, drains) = open()
        try await gateway.submit(stream: "s", records: numbered(0..<200))
        drains.cancel()
        await gateway.shutdown()
        #expect(try storedPayloads(engine).count < 200, "some records were still spooled at the stop")

        let parent = try engine.catalog.metadata(of: "s").shards[0]
        try await engine.resharder.splitShard(stream: "s", shardId: parent.id, newStartingHashKey: String(parent.hashKeyRange.upperBound / 2))
        (gateway, drains) = open()
        await gateway.prepare(streams: ["s"])
        let restored = gateway.status().streams[0].shards.first { $0.shardId == parent.id }
        #expect(restored?.open == false && (restored?.spoolRecords ?? 0) > 0, "the closed shard's spool was found")
        try await gateway.submit(stream: "s", records: numbered(200..<260))
        let stored = try await waitForPayloads(engine, 260)
        #expect(stored == (0..<260).map { String(format: "%016d", $0) })
        drains.cancel()
        await gateway.shutdown()
        await engine.close()
    }
}
