import SluiceEngine
import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceGateway

/// A spool's drain writes its cursor after every step; a crash between a step's put and
/// that write leaves records stored but still spooled. The restarted drain skips exactly
/// those, by origin (ShardLane.storedAtHead), and nothing else.
extension RepeatTests {
    @Test("a crash after drain steps whose cursor writes were lost: the stored records are not stored again, the rest are")
    func drainAfterLostCursorWrites() async throws {
        let tmp = TemporaryDirectory("sluice-drain-repeats")
        let engine = try oneShardEngine(tmp)
        let fs = LostCursorFileSystem()
        let (first, dying) = try await firstRun(engine, tmp, fs)
        #expect(first.status().streams[0].shards[0].spoolRecords >= 500)
        await drainUntilTheCrash(first, dying, fs)
        #expect(fs.lostWrites > 0, "the drain wrote its cursor (and lost it)")
        #expect(try storedPayloads(engine).count == 1_250)

        let (stored, second) = try await secondRun(engine, tmp, fs)
        let skipped = second.status().streams[0].shards[0].repeatsSkipped ?? 0
        await second.shutdown()
        #expect(try storedPayloads(engine) == stored)
        #expect(stored.count == 1_600, "no line twice")
        if stored.count == 1_600 { #expect(stored == (0..<1_600).map { "line-\($0)" }, "every line once, in order") }
        #expect(skipped == 250, "exactly the drained records were skipped")
        await engine.close()
    }

    @Test("a closed shard's spool, cut off mid-drain into its children: what the children hold is not stored again")
    func closedShardDrainAfterLostCursorWrites() async throws {
        let tmp = TemporaryDirectory("sluice-drain-repeats")
        let engine = try oneShardEngine(tmp)
        let fs = LostCursorFileSystem()
        let (first, dying) = try await firstRun(engine, tmp, fs)
        // The shard splits while 600 records wait in its spool: they drain into the children.
        let parent = try engine.catalog.shardMap(stream: "s").open[0]
        try await engine.resharder.splitShard(stream: "s", shardId: parent.shardId, newStartingHashKey: String(parent.hashKeyRange.upperBound / 2))
        await first.prepare(streams: ["s"])
        #expect(first.status().streams[0].shards.contains { $0.shardId == parent.shardId && !$0.open && $0.spoolRecords == 600 })
        await drainUntilTheCrash(first, dying, fs)

        let (stored, second) = try await secondRun(engine, tmp, fs)
        await second.shutdown()
        // (The closed lane retires once drained, its counters with it: the count says it.)
        #expect(try storedPayloads(engine).count == 1_600, "no line twice: the 250 the children held were skipped")
        #expect(Set(stored) == Set((0..<1_600).map { "line-\($0)" }))
        await engine.close()
    }

    @Test("spooled records never stored are sent even when the shard holds a later record of their producer")
    func drainSendsWhatIsNotStored() async throws {
        let tmp = TemporaryDirectory("sluice-drain-repeats")
        let engine = try oneShardEngine(tmp)
        // One record a second: nearly all of 300 lines are spooled, none drained.
        let first = gateway(engine, tmp, rates: .init(bytesPerSecond: 1 << 30, recordsPerSecond: 1))
        try await first.submit(stream: "s", records: lines(0..<300))
        await first.shutdown()
        let direct = try storedPayloads(engine).count
        #expect(direct < 300)
        // A later record of the same producer reaches the shard first: a high-water mark
        // would take every spooled line for stored.
        _ = try await engine.writer.ingest(stream: "s", records: [
            PutRecordInput(partitionKey: "k0", data: Array("later".utf8), origin: RecordOrigin(producer: 42, sequence: 1_000_000)),
        ])

        let second = gateway(engine, tmp)
        await second.prepare(streams: ["s"])
        let drains = Task { await second.runDrains() }
        let stored = try await waitForPayloads(engine, 301)
        try await waitForEmptySpools(second)
        drains.cancel()
        #expect(second.status().streams[0].shards[0].repeatsSkipped ?? 0 == 0)
        await second.shutdown()
        #expect(Set(stored) == Set((0..<300).map { "line-\($0)" } + ["later"]))
        #expect(stored.count == 301)
        await engine.close()
    }

    /// The first run: 1,600 lines offered at 1,000 a second (the meter spools the rest) to a
    /// sink that stores 1,250 records in all, then stops: the process is gone.
    func firstRun(_ engine: StreamEngine, _ tmp: TemporaryDirectory, _ fs: LostCursorFileSystem) async throws -> (Gateway, ScriptedSink) {
        let dying = ScriptedSink(EmbeddedSink(engine: engine), script: [.store(1_250)])
        let first = gateway(engine, tmp, rates: .init(bytesPerSecond: 1 << 30, recordsPerSecond: 1_000), sink: dying, fileSystem: fs)
        try await first.submit(stream: "s", records: lines(0..<1_600))
        return (first, dying)
    }

    /// Drains until the sink has stopped, with every cursor write of those steps lost.
    func drainUntilTheCrash(_ first: Gateway, _ dying: ScriptedSink, _ fs: LostCursorFileSystem) async {
        fs.setLosing(true)
        let drains = Task { await first.runDrains() }
        await dying.exhausted()
        drains.cancel()
        await first.shutdown()
        fs.setLosing(false)
    }

    /// The restart: a new gateway on the same disk drains until every line is stored and
    /// no spool is left; returns what the stream holds and the gateway (still open).
    func secondRun(_ engine: StreamEngine, _ tmp: TemporaryDirectory, _ fs: LostCursorFileSystem) async throws -> ([String], Gateway) {
        let second = gateway(engine, tmp, fileSystem: fs)
        await second.prepare(streams: ["s"])
        let drains = Task { await second.runDrains() }
        let stored = try await waitForPayloads(engine, 1_600)
        try await waitForEmptySpools(second)
        drains.cancel()
        return (stored, second)
    }

    /// An engine under `tmp` with stream "s" of one shard, its limits off (the gateway meters).
    func oneShardEngine(_ tmp: TemporaryDirectory) throws -> StreamEngine {
        var options = EngineOptions()
        options.enforceWriteLimits = false
        options.enforceReadLimits = false
        let engine = try StreamEngine(dataDirectory: tmp.path + "/data", options: options, logger: logger)
        try engine.catalog.createStream(name: "s", shardCount: 1)
        return engine
    }

    /// Waits (up to a minute) until no shard of `gateway` has spooled records left.
    func waitForEmptySpools(_ gateway: Gateway) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while gateway.status().streams.flatMap(\.shards).contains(where: { $0.spoolRecords > 0 }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
