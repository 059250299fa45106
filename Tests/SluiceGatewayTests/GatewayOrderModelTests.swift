import Logging
import SluiceEngine
import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceGateway

/// A seeded model of the gateway under load: batches of records over a few keys, offered
/// faster than the shards' limits (so the spools fill and drain), while shards are split
/// and merged; with `drop_oldest`, a spool bound small enough that whole segments go.
/// Whatever happens, each key's records are stored in the order they were offered, and
/// under `block` every one of them is.
@Suite struct GatewayOrderModelTests {
    static let keys = (0..<12).map { "device-\($0)" }

    @Test("per-key order holds across spool, drain and resharding; block stores everything", arguments: [1, 2, 3])
    func blockKeepsOrderAndEverything(seed: Int) async throws {
        let (offered, stored, dropped) = try await run(seed: UInt64(seed), onFull: .block)
        #expect(dropped == 0)
        #expect(stored.count == offered.count, "every record stored once")
        Self.checkOrder(stored)
    }

    @Test("per-key order holds when drop_oldest drops whole segments; what is missing was counted as dropped", arguments: [4, 5])
    func dropOldestKeepsOrder(seed: Int) async throws {
        let (offered, stored, dropped) = try await run(seed: UInt64(seed), onFull: .dropOldest)
        #expect(dropped > 0, "the bound was reached")
        #expect(UInt64(offered.count - stored.count) == dropped, "what is missing is what was dropped, nothing more")
        #expect(Set(stored).count == stored.count, "nothing stored twice")
        Self.checkOrder(stored)
    }

    /// Each key's counters only grow in what was stored (a subsequence of what was offered).
    static func checkOrder(_ stored: [String]) {
        var last: [String: Int] = [:]
        for payload in stored {
            let parts = payload.split(separator: ":")
            let key = String(parts[0])
            let n = Int(parts[1])!
            #expect(n > last[key, default: -1], "\(key): \(n) stored after \(last[key, default: -1])")
            last[key] = n
        }
    }

    /// Offers records in seeded batches with seeded splits and merges in between; returns
    /// what was offered, what the stream holds (parents before children) and the count of
    /// records the spools dropped.
    func run(seed: UInt64, onFull: SpoolFullPolicy) async throws -> (offered: [String], stored: [String], dropped: UInt64) {
        var random = SeededRandom(seed: seed)
        let tmp = TemporaryDirectory("sluice-order-model")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var options = EngineOptions()
        options.enforceWriteLimits = false
        options.enforceReadLimits = false
        let engine = try StreamEngine(dataDirectory: tmp.path + "/data", options: options, logger: logger)
        try engine.catalog.createStream(name: "s", shardCount: 2)
        var settings = Gateway.Settings()
        // Under block: 100 records a second per shard, drains running. Under drop_oldest the
        // bound is reached whatever the machine's speed: records of 40 KiB (at least 9 MiB
        // offered), 10 a second per shard, and the drains start only once all is offered,
        // against a 4 MiB bound (1 MiB segments).
        let dropping = onFull == .dropOldest
        settings.rates = .init(bytesPerSecond: 4 << 20, recordsPerSecond: dropping ? 10 : 100)
        settings.onFull = onFull
        settings.spoolMaxBytes = dropping ? 4 << 20 : 1 << 30
        let padding = [UInt8](repeating: 0x2E, count: dropping ? 40_960 : 16)
        let gateway = Gateway(sink: EmbeddedSink(engine: engine), dataDirectory: tmp.path, settings: settings, keys: nil, keyId: nil, logger: logger)
        var drains = dropping ? nil : Task { await gateway.runDrains() }
        var counters: [String: Int] = [:]
        var offered: [String] = []
        for step in 0..<12 {
            let batch = (0..<(20 + Int(random.next() % 100))).map { _ -> PutRecordInput in
                let key = Self.keys[Int(random.next() % UInt64(Self.keys.count))]
                let n = counters[key, default: 0]
                counters[key] = n + 1
                offered.append("\(key):\(n)")
                return PutRecordInput(partitionKey: key, data: Array("\(key):\(n):".utf8) + padding)
            }
            try await gateway.submit(stream: "s", records: batch)
            if step % 4 == 3 { try await reshard(engine, &random) }
        }
        if drains == nil { drains = Task { await gateway.runDrains() } }
        let deadline = ContinuousClock.now + .seconds(120)
        while gateway.status().streams.flatMap(\.shards).contains(where: { $0.spoolRecords > 0 }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        drains?.cancel()
        let dropped = gateway.status().spool.droppedRecords
        await gateway.shutdown()
        let stored = try storedPayloads(engine).map { String($0.split(separator: ":").prefix(2).joined(separator: ":")) }
        await engine.close()
        return (offered, stored, dropped)
    }

    /// Splits a random open shard in the middle, or merges the first two adjacent ones.
    func reshard(_ engine: StreamEngine, _ random: inout SeededRandom) async throws {
        let open = try engine.catalog.shardMap(stream: "s").open
        if open.count < 4, random.next() % 3 != 0 {
            let shard = open[Int(random.next() % UInt64(open.count))]
            let middle = shard.hashKeyRange.lowerBound + (shard.hashKeyRange.upperBound - shard.hashKeyRange.lowerBound) / 2
            try await engine.resharder.splitShard(stream: "s", shardId: shard.shardId, newStartingHashKey: String(middle + 1))
        } else if open.count >= 2 {
            try await engine.resharder.mergeShards(stream: "s", shardToMerge: open[0].shardId, adjacentShardToMerge: open[1].shardId)
        }
    }
}
