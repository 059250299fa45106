import Logging
import SluiceEngine
import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceGateway

/// Records with an origin are stored once even when a restarted source sends them again:
/// each shard skips what its log or spool already holds (RecordOrigin, RepeatRequest).
@Suite struct RepeatTests {
    var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// Lines `range` of one file (producer 42), keys over 7 values, sequence = end offset.
    func lines(_ range: Range<Int>, producer: UInt64 = 42) -> [PutRecordInput] {
        range.map { n in
            PutRecordInput(partitionKey: "k\(n % 7)", data: Array("line-\(n)".utf8), origin: RecordOrigin(producer: producer, sequence: UInt64(n + 1) * 10))
        }
    }

    func gateway(
        _ engine: StreamEngine, _ tmp: TemporaryDirectory, rates: ShardRateLimiter.Rates = .init(bytesPerSecond: 1 << 30, recordsPerSecond: 1 << 30),
        sink: (any GatewaySink)? = nil, fileSystem: any FileSystem = PosixFileSystem()
    ) -> Gateway {
        var settings = Gateway.Settings()
        settings.rates = rates
        return Gateway(
            sink: sink ?? EmbeddedSink(engine: engine), dataDirectory: tmp.path, settings: settings, keys: nil, keyId: nil,
            fileSystem: fileSystem, logger: logger
        )
    }

    @Test("a restarted source's batch, partly stored in some shards, is stored once; other producers and new lines pass")
    func restartedBatchIsStoredOnce() async throws {
        let tmp = TemporaryDirectory("sluice-repeats")
        var options = EngineOptions()
        options.enforceReadLimits = false
        let engine = try StreamEngine(dataDirectory: tmp.path + "/data", options: options, logger: logger)
        try engine.catalog.createStream(name: "s", shardCount: 4)
        let first = gateway(engine, tmp)
        // Stored before the crash: lines 0..<300, and of the batch in flight (300..<500)
        // only what routes to shards 0 and 2 (the crash took the rest).
        try await first.submit(stream: "s", records: lines(0..<300))
        let map = try engine.catalog.shardMap(stream: "s")
        let inFlight = lines(300..<500)
        try await first.submit(stream: "s", records: inFlight.filter { [0, 2].contains(map.route(partitionKey: $0.partitionKey)!.index) })
        try await first.submit(stream: "s", records: lines(0..<50, producer: 7))
        await first.shutdown()

        // The restart: the checkpoint said 300; lines 300..<600 come (again), and another
        // file's lines with sequences the first file already used.
        let second = gateway(engine, tmp)
        second.expectRepeats(stream: "s", producers: [42, 7], sinceMillis: 0)
        try await second.submit(stream: "s", records: lines(300..<600))
        try await second.submit(stream: "s", records: lines(50..<80, producer: 7))
        try await second.submit(stream: "s", records: lines(0..<20, producer: 99))
        let skipped = second.status().0.flatMap(\.shards).reduce(UInt64(0)) { $0 + ($1.repeatsSkipped ?? 0) }
        let storedBefore = inFlight.filter { [0, 2].contains(map.route(partitionKey: $0.partitionKey)!.index) }.count
        #expect(skipped == UInt64(storedBefore), "status counts exactly the records skipped")
        await second.shutdown()

        let stored = try storedPayloads(engine)
        #expect(stored.count == 600 + 80 + 20, "no line twice, none missing")
        var counts: [String: Int] = [:]
        for payload in stored { counts[payload, default: 0] += 1 }
        #expect((300..<600).allSatisfy { counts["line-\($0)"] == 1 })
        // Order per key within each shard: sequences of producer 42 only grow.
        for shard in try engine.catalog.metadata(of: "s").shards {
            let records = try engine.readEverything("s", shard: shard.index).filter { $0.origin?.producer == 42 }
            #expect(records.map { $0.origin!.sequence } == records.map { $0.origin!.sequence }.sorted())
        }
        await engine.close()
    }

}

extension RepeatTests {
    @Test("a power cut: every line a saved position covers is stored, and no stored line is stored again (direct, and through the spool while it drains)",
          arguments: [0, 17, 42], [false, true])
    func powerLoss(seed: Int, spooled: Bool) async throws {
        let tmp = TemporaryDirectory("sluice-repeats")
        let fs = PowerLossFileSystem()
        var options = EngineOptions()
        options.enforceWriteLimits = false
        options.enforceReadLimits = false
        func open() throws -> StreamEngine {
            try StreamEngine(dataDirectory: tmp.path + "/data", options: options, fileSystem: fs, logger: logger)
        }
        let engine = try open()
        try engine.catalog.createStream(name: "s", shardCount: 4)
        // The source as FileSource runs it: store a batch, then save the position (the
        // checkpoint, written atomically with fsync); one batch more in flight at the cut.
        // Spooled: the meter admits 10 records a second per shard, the rest go to the
        // spools (on the same disk), which drain while the batches come.
        let checkpoint = tmp.path + "/checkpoint"
        let rates = ShardRateLimiter.Rates(bytesPerSecond: 1 << 30, recordsPerSecond: spooled ? 10 : 1 << 30)
        let first = gateway(engine, tmp, rates: rates, fileSystem: fs)
        let drains = Task { await first.runDrains() }
        var random = SeededRandom(seed: UInt64(seed))
        let batches = 3 + Int(random.next() % 8)
        var position = 0
        for _ in 0..<batches {
            let size = 20 + Int(random.next() % 80)
            try await first.submit(stream: "s", records: lines(position..<position + size))
            position += size
            try fs.writeAtomically(checkpoint, Array("\(position)".utf8))
        }
        let inFlight = 20 + Int(random.next() % 80)
        try await first.submit(stream: "s", records: lines(position..<position + inFlight))
        if spooled {
            // The cut comes while the spools drain: after some drained records, not all.
            let drainedAtCut = 1 + Int(random.next() % 30)
            let deadline = ContinuousClock.now + .seconds(60)
            while first.status().streams.flatMap(\.shards).reduce(0, { $0 + Int($1.drainedRecords) }) < drainedAtCut, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(first.status().streams.flatMap(\.shards).contains { $0.spoolRecords > 0 }, "records still spooled at the cut")
        }
        drains.cancel()
        await drains.value
        try fs.cutPower()

        let reopened = try open()
        let saved = Int(String(decoding: try fs.readWholeFile(checkpoint), as: UTF8.self))!
        #expect(saved == position, "the position saved before the cut survives it")
        let second = gateway(reopened, tmp, fileSystem: fs)
        await second.prepare(streams: ["s"])
        let spooledAtStart = second.status().streams.flatMap(\.shards).reduce(0) { $0 + Int($1.spoolRecords) }
        let before = try storedPayloads(reopened)
        #expect(Set(before).count + spooledAtStart >= saved, "every line the saved position covers is stored or spooled")
        // The restart: from the saved position, the lines since come again.
        let secondDrains = Task { await second.runDrains() }
        second.expectRepeats(stream: "s", producers: [42], sinceMillis: 0)
        try await second.submit(stream: "s", records: lines(saved..<saved + inFlight + 30))
        try await waitForEmptySpools(second)
        secondDrains.cancel()
        let after = try storedPayloads(reopened)
        #expect(after.count == saved + inFlight + 30, "no line stored twice")
        #expect(Set(after) == Set((0..<saved + inFlight + 30).map { "line-\($0)" }))
        await second.shutdown()
        await reopened.close()
    }
}

extension StreamEngine {
    /// Every stored record of one shard, with its origin.
    func readEverything(_ stream: String, shard: Int) throws -> [StoredRecord] {
        var all: [StoredRecord] = []
        let consumer = try reader.durableConsumer(stream: stream, name: "test-read-\(shard)")
        var offset = try consumer.position(of: shard)
        while true {
            let batch = try consumer.read(shard: shard, from: offset, maxRecords: 1000, maxBytes: 1 << 30)
            if batch.records.isEmpty { return all }
            all += batch.records
            offset = batch.nextOffset
        }
    }
}
