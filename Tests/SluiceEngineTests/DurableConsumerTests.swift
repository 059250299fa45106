import Foundation
import Logging
import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceEngine

/// Durable consumers: positions that survive restarts and power cuts, resharding followed
/// parent before child, and records deleted before they were read counted.
@Suite struct DurableConsumerTests {
    let fixture = EngineFixture()

    /// Reads every readable shard once (a batch each) and commits all but `uncommitted`.
    /// Returns what it delivered, in delivery order.
    func step(_ consumer: DurableConsumer, maxRecords: Int, commit: Bool = true) throws -> [StoredRecord] {
        var delivered: [StoredRecord] = []
        for shard in try consumer.readableShards() {
            let batch = try consumer.read(shard: shard, maxRecords: maxRecords, maxBytes: 1 << 20)
            delivered += batch.records
            if commit { try consumer.commit(batch) }
        }
        return delivered
    }

    /// Reads and commits until no shard has anything left (finished shards free their
    /// children on the way).
    func drain(_ consumer: DurableConsumer) throws -> [StoredRecord] {
        var all: [StoredRecord] = []
        var progress = true
        while progress {
            progress = false
            for shard in try consumer.readableShards() {
                let batch = try consumer.read(shard: shard, maxRecords: 1000, maxBytes: 1 << 20)
                guard !batch.records.isEmpty || batch.finished else { continue }
                all += batch.records
                try consumer.commit(batch)
                progress = true
            }
        }
        return all
    }

    @Test func resumesAfterTheLastCommitAcrossARestart() async throws {
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 2)
        for n in 0..<200 { _ = try await engine.writer.putRecord(stream: "s", record: record("key-\(n % 10)", "v\(n)")) }
        let consumer = try engine.reader.durableConsumer(stream: "s", name: "c")
        let first = try step(consumer, maxRecords: 30)
        let unconfirmed = try step(consumer, maxRecords: 30, commit: false)
        #expect(first.count == 60 && unconfirmed.count == 60)
        await engine.close()

        let reopened = try fixture.open()
        let again = try reopened.reader.durableConsumer(stream: "s", name: "c")
        let rest = try drain(again)
        // The unconfirmed batch comes again (at-least-once); nothing confirmed does.
        let texts = Set((first + rest).map { String(decoding: $0.data, as: UTF8.self) })
        #expect(texts == Set((0..<200).map { "v\($0)" }))
        #expect(first.count + rest.count == 200)
        #expect(again.status().shards.allSatisfy { $0.recordsBehind == 0 })
    }

    /// A seeded mix of puts, splits, merges, reads, commits and consumer crashes (a batch
    /// read and never confirmed): every record is delivered, each key's records in order at
    /// first delivery, and what repeats is at most the unconfirmed batches.
    @Test(arguments: [1, 2, 3, 4, 5])
    func modelOfPositionsAcrossSplitMergeAndCrash(seed: UInt64) async throws {
        var random = SeededRandom(seed: seed)
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 2)
        var consumer = try engine.reader.durableConsumer(stream: "s", name: "c")
        var written = 0
        var delivered: [StoredRecord] = []
        var repeatable = 0
        for _ in 0..<120 {
            switch random.next() % 10 {
            case 0...3:
                let records = (0..<Int(random.next() % 40 + 1)).map { k in record("key-\((written + k) % 7)", "\(written + k)") }
                let outcomes = try await engine.writer.putRecords(stream: "s", records: records)
                #expect(outcomes.allSatisfy { if case .stored = $0 { true } else { false } })
                written += records.count
            case 4:
                let open = try engine.catalog.metadata(of: "s").openShards
                let shard = open[Int(random.next() % UInt64(open.count))]
                let range = shard.hashKeyRange
                if range.upperBound - range.lowerBound > 2 {
                    let middle = range.lowerBound + (range.upperBound - range.lowerBound) / 2
                    try await engine.resharder.splitShard(stream: "s", shardId: shard.id, newStartingHashKey: String(middle))
                }
            case 5:
                let open = try engine.catalog.metadata(of: "s").openShards.sorted { $0.hashKeyRange.lowerBound < $1.hashKeyRange.lowerBound }
                if open.count > 1 {
                    let k = Int(random.next() % UInt64(open.count - 1))
                    try await engine.resharder.mergeShards(stream: "s", shardToMerge: open[k].id, adjacentShardToMerge: open[k + 1].id)
                }
            case 6:
                // A crash: a batch handed out and never confirmed; the consumer reopens.
                let lost = try step(consumer, maxRecords: 5, commit: false)
                delivered += lost
                repeatable += lost.count
                consumer = try engine.reader.durableConsumer(stream: "s", name: "c")
            default:
                delivered += try step(consumer, maxRecords: Int(random.next() % 20 + 1))
            }
        }
        delivered += try drain(consumer)
        let values = delivered.map { Int(String(decoding: $0.data, as: UTF8.self))! }
        #expect(Set(values) == Set(0..<written), "every record delivered")
        #expect(values.count - written <= repeatable, "only unconfirmed batches repeat")
        var seen = Set<Int>()
        var lastByKey: [String: Int] = [:]
        for (record, value) in zip(delivered, values) where seen.insert(value).inserted {
            #expect(value > lastByKey[record.partitionKey, default: -1], "key \(record.partitionKey): \(value) after \(lastByKey[record.partitionKey]!)")
            lastByKey[record.partitionKey] = value
        }
    }

    @Test func aChildIsReadableOnlyOnceItsParentIsFinished() async throws {
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        for n in 0..<10 { _ = try await engine.writer.putRecord(stream: "s", record: record("k\(n)", "before-\(n)")) }
        let consumer = try engine.reader.durableConsumer(stream: "s", name: "c")
        try await engine.resharder.splitShard(stream: "s", shardId: "shardId-000000000000", newStartingHashKey: String(UInt128.max / 2))
        for n in 0..<10 { _ = try await engine.writer.putRecord(stream: "s", record: record("k\(n)", "after-\(n)")) }
        #expect(try consumer.readableShards() == [0])
        let parent = try consumer.read(shard: 0, maxRecords: 100, maxBytes: 1 << 20)
        #expect(parent.records.count == 10 && parent.finished)
        #expect(try consumer.readableShards() == [0], "children wait until the parent's end is committed")
        try consumer.commit(parent)
        #expect(try consumer.readableShards() == [1, 2])
    }

    @Test func aCommitIsDurableThroughAPowerCutAndAnUncommittedReadIsNot() async throws {
        let fs = PowerLossFileSystem()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        func open() throws -> StreamEngine {
            try StreamEngine(dataDirectory: fixture.tmp.path, options: fixture.options, clock: fixture.clock, fileSystem: fs, logger: logger)
        }
        let engine = try open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        for n in 0..<50 { _ = try await engine.writer.putRecord(stream: "s", record: record("k", "v\(n)")) }
        let consumer = try engine.reader.durableConsumer(stream: "s", name: "c")
        try consumer.commit(try consumer.read(shard: 0, maxRecords: 20, maxBytes: 1 << 20))
        _ = try consumer.read(shard: 0, maxRecords: 20, maxBytes: 1 << 20)
        try fs.cutPower()
        let after = try open().reader.durableConsumer(stream: "s", name: "c")
        #expect(try after.position(of: 0) == 20)
        #expect(try after.read(shard: 0, maxRecords: 1, maxBytes: 1).records.first.map { String(decoding: $0.data, as: UTF8.self) } == "v20")
    }

    @Test func recordsDeletedBeforeTheyWereReadAreCountedNotSkippedSilently() async throws {
        var fixture = fixture
        fixture.options.log.segmentMaxBytes = 4096
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        let consumer = try engine.reader.durableConsumer(stream: "s", name: "c")
        for n in 0..<200 { _ = try await engine.writer.putRecord(stream: "s", record: record("k", String(repeating: "x", count: 100) + "\(n)")) }
        fixture.clock.advance(millis: 25 * 3_600_000)
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "fresh"))
        #expect(engine.catalog.enforceRetention() > 0)
        let trimHorizon = try #require(engine.shardHandleForTests("s", 0)).log.trimHorizon
        let batch = try consumer.read(shard: 0, maxRecords: 1000, maxBytes: 1 << 20)
        #expect(batch.records.first?.offset == trimHorizon)
        #expect(consumer.status().missedRecords == trimHorizon)
        #expect(trimHorizon > 0)
    }

    @Test func aDamagedPositionFileIsSetAsideAndTheConsumerStartsOver() async throws {
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        for n in 0..<5 { _ = try await engine.writer.putRecord(stream: "s", record: record("k", "v\(n)")) }
        let consumer = try engine.reader.durableConsumer(stream: "s", name: "c")
        try consumer.commit(try consumer.read(shard: 0, maxRecords: 3, maxBytes: 1 << 20))
        let path = consumer.path
        for garbage in [String(decoding: try PosixFileSystem().readWholeFile(path), as: UTF8.self).replacingOccurrences(of: "\"next\":3", with: "\"next\":4"), "{", "{\"format\": 9, \"consumer\": \"c\", \"streamCreatedAtMillis\": 0, \"shards\": {}}", "{\"format\": 1, \"consumer\": \"c\", \"streamCreatedAtMillis\": 0, \"paused\": false, \"shards\": {\"-1\": {\"next\": 1, \"finished\": false}}}"] {
            try Data(garbage.utf8).write(to: URL(fileURLWithPath: path))
            let again = try engine.reader.durableConsumer(stream: "s", name: "c")
            #expect(try again.position(of: 0) == 0, "starts over: records repeat, none is lost")
            #expect(try FileManager.default.contentsOfDirectory(atPath: FileSystemPath.parent(path)).contains { $0.hasPrefix("c.json.damaged-") })
        }
    }

    @Test func aPositionPastTheEndIsBroughtBackToTheEnd() async throws {
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        for n in 0..<5 { _ = try await engine.writer.putRecord(stream: "s", record: record("k", "v\(n)")) }
        let consumer = try engine.reader.durableConsumer(stream: "s", name: "c")
        var positions = try #require(try ConsumerPositions.load(consumer.path, fs: PosixFileSystem()))
        positions[0] = .init(next: 1_000_000, finished: false)
        try positions.save(consumer.path, fs: PosixFileSystem())
        let again = try engine.reader.durableConsumer(stream: "s", name: "c")
        #expect(try again.position(of: 0) == 5)
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "new"))
        #expect(try again.read(shard: 0, maxRecords: 10, maxBytes: 1 << 20).records.map { String(decoding: $0.data, as: UTF8.self) } == ["new"])
    }

    @Test func startsAtLatestOrAtATimestampAndRewinds() async throws {
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        for n in 0..<5 { _ = try await engine.writer.putRecord(stream: "s", record: record("k", "old-\(n)")) }
        fixture.clock.advance(millis: 10_000)
        let middle = fixture.clock.nowMillis()
        for n in 0..<3 { _ = try await engine.writer.putRecord(stream: "s", record: record("k", "mid-\(n)")) }
        let latest = try engine.reader.durableConsumer(stream: "s", name: "latest", start: .latest)
        let stamped = try engine.reader.durableConsumer(stream: "s", name: "stamped", start: .atTimestamp(millis: middle))
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "new"))
        func texts(_ c: DurableConsumer) throws -> [String] {
            try c.read(shard: 0, maxRecords: 100, maxBytes: 1 << 20).records.map { String(decoding: $0.data, as: UTF8.self) }
        }
        #expect(try texts(latest) == ["new"])
        #expect(try texts(stamped) == ["mid-0", "mid-1", "mid-2", "new"])
        let stale = try latest.read(shard: 0, maxRecords: 100, maxBytes: 1 << 20)
        try latest.rewind(to: .trimHorizon)
        #expect(try latest.commit(stale) == false, "a batch read before a rewind is not committed")
        #expect(try texts(latest).count == 9)
    }

    @Test func pausedSurvivesARestart() async throws {
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        try engine.reader.durableConsumer(stream: "s", name: "c").setPaused(true)
        await engine.close()
        #expect(try fixture.open().reader.durableConsumer(stream: "s", name: "c").isPaused)
    }

    @Test func aStreamCreatedAgainStartsItsConsumersAgain() async throws {
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        for n in 0..<5 { _ = try await engine.writer.putRecord(stream: "s", record: record("k", "v\(n)")) }
        let consumer = try engine.reader.durableConsumer(stream: "s", name: "c")
        try consumer.commit(try consumer.read(shard: 0, maxRecords: 5, maxBytes: 1 << 20))
        try await engine.catalog.deleteStream(name: "s")
        fixture.clock.advance(millis: 1000)
        try engine.catalog.createStream(name: "s", shardCount: 1)
        #expect(throws: EngineError.self) { try consumer.readableShards() }
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "again"))
        let fresh = try engine.reader.durableConsumer(stream: "s", name: "c")
        #expect(try fresh.read(shard: 0, maxRecords: 5, maxBytes: 1 << 20).records.count == 1)
    }
}

extension StreamEngine {
    func shardHandleForTests(_ stream: String, _ index: Int) -> ShardHandle? {
        try? catalog.stream(stream).shard(index)?.1
    }
}

/// The position file is read from disk that may be damaged: whatever its bytes, opening
/// the consumer never traps, and the consumer either trusts a file it could read or sets
/// it aside and starts over (never skipping records it has not confirmed).
@Suite struct ConsumerPositionsFuzzTests {
    @Test func damagedPositionFilesNeverTrapAndNeverSkipAhead() async throws {
        let fixture = EngineFixture()
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 2)
        for n in 0..<20 { _ = try await engine.writer.putRecord(stream: "s", record: record("key-\(n)", "v\(n)")) }
        let consumer = try engine.reader.durableConsumer(stream: "s", name: "c")
        for shard in try consumer.readableShards() { try consumer.commit(try consumer.read(shard: shard, maxRecords: 3, maxBytes: 1 << 20)) }
        let valid = try PosixFileSystem().readWholeFile(consumer.path)
        let committed = try (0..<2).map { try consumer.position(of: $0) }
        var random = SeededRandom(seed: 99)
        for iteration in 0..<300 {
            let bytes = ByteMutator.mutate(valid, &random)
            try Data(bytes).write(to: URL(fileURLWithPath: consumer.path))
            let reopened = try engine.reader.durableConsumer(stream: "s", name: "c")
            for shard in 0..<2 {
                let end = try #require(engine.shardHandleForTests("s", shard)).log.endOffset
                let position = try reopened.position(of: shard)
                #expect(position <= end, "iteration \(iteration): position \(position) past the end \(end)")
                // The committed position, or the start over: never ahead of what was confirmed.
                #expect(position == 0 || position == committed[shard], "iteration \(iteration): shard \(shard) at \(position)")
            }
            try? FileManager.default.removeItem(atPath: consumer.path)
        }
    }
}
