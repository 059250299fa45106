import Testing
import SluiceStorage
import SluiceTestSupport
@testable import SluiceEngine

@Suite struct ReshardingTests {
    /// Reads a stream the way the KCL does: a shard only after all its parents are done.
    func readFollowingParents(_ engine: StreamEngine, _ stream: String) throws -> [StoredRecord] {
        let shards = try engine.catalog.metadata(of: stream).shards
        var done: Set<Int> = []
        var out: [StoredRecord] = []
        while done.count < shards.count {
            for shard in shards where !done.contains(shard.index) {
                let parents = [shard.parentIndex, shard.adjacentParentIndex].compactMap { $0 }
                guard parents.allSatisfy(done.contains) else { continue }
                var iterator: String? = try engine.reader.shardIterator(stream: stream, shardId: shard.id, start: .trimHorizon)
                while let current = iterator {
                    let page = try engine.reader.getRecords(iterator: current, limit: 1000)
                    out += page.records
                    iterator = page.nextShardIterator
                    if page.records.isEmpty && shard.isOpen { break }
                }
                done.insert(shard.index)
            }
        }
        return out
    }

    func fixture() -> EngineFixture {
        var fixture = EngineFixture()
        fixture.options.enforceWriteLimits = false
        return fixture
    }

    @Test func splitThenMergeKeepsEveryRecordInPerKeyOrder() async throws {
        let engine = try fixture().open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        var expected: [String: [String]] = [:]
        func put(_ n: Int) async throws {
            let key = "key-\(n % 17)"
            _ = try await engine.writer.putRecord(stream: "s", record: record(key, "\(n)"))
            expected[key, default: []].append("\(n)")
        }
        for n in 0..<100 { try await put(n) }
        try await engine.resharder.splitShard(stream: "s", shardId: "shardId-000000000000", newStartingHashKey: String(UInt128(1) << 127))
        var m = try engine.catalog.metadata(of: "s")
        #expect(m.shards.count == 3 && m.openShards.map(\.id) == ["shardId-000000000001", "shardId-000000000002"])
        #expect(m.shards[0].endOffset == 100 && m.shards[0].closedAtMillis != nil)
        #expect(m.shards[1].parentIndex == 0 && m.shards[2].parentIndex == 0)
        #expect(m.shards[1].hashKeyEnd == String((UInt128(1) << 127) - 1))
        for n in 100..<200 { try await put(n) }
        try await engine.resharder.mergeShards(stream: "s", shardToMerge: "shardId-000000000001", adjacentShardToMerge: "shardId-000000000002")
        m = try engine.catalog.metadata(of: "s")
        #expect(m.openShards.map(\.id) == ["shardId-000000000003"])
        #expect(m.shards[3].parentIndex == 1 && m.shards[3].adjacentParentIndex == 2)
        #expect(m.shards[3].hashKeyRange == 0...UInt128.max)
        for n in 200..<300 { try await put(n) }

        var read: [String: [String]] = [:]
        for record in try readFollowingParents(engine, "s") {
            read[record.partitionKey, default: []].append(String(decoding: record.data, as: UTF8.self))
        }
        #expect(read == expected)
    }

    @Test func aClosedShardEndsWithChildShardsAndNoNextIterator() async throws {
        let engine = try fixture().open()
        try engine.catalog.createStream(name: "s", shardCount: 2)
        _ = try await engine.writer.putRecord(stream: "s", record: record("user1", "before"))
        try await engine.resharder.splitShard(stream: "s", shardId: "shardId-000000000000", newStartingHashKey: "1000")
        let iterator = try engine.reader.shardIterator(stream: "s", shardId: "shardId-000000000000", start: .trimHorizon)
        let page = try engine.reader.getRecords(iterator: iterator, limit: 10)
        #expect(page.records.count == 1)
        #expect(page.nextShardIterator == nil)
        #expect(page.childShards.map(\.shardId) == ["shardId-000000000002", "shardId-000000000003"])
        #expect(page.childShards.allSatisfy { $0.parentShards == ["shardId-000000000000"] })
        // Children's sequence numbers are greater than the parent's.
        let child = try await engine.writer.putRecord(stream: "s", record: record("user1", "after"))
        #expect(child.shardId == "shardId-000000000003")
        #expect(SequenceNumber(child.sequenceNumber)! > SequenceNumber(shardIndex: 0, offset: 0))
    }

    @Test func invalidReshardsAreRefused() async throws {
        let engine = try fixture().open()
        try engine.catalog.createStream(name: "s", shardCount: 3)
        await #expect { try await engine.resharder.splitShard(stream: "s", shardId: "shardId-000000000000", newStartingHashKey: "0") } throws: {
            ($0 as? EngineError)?.kind == .invalidArgument
        }
        await #expect { try await engine.resharder.mergeShards(stream: "s", shardToMerge: "shardId-000000000000", adjacentShardToMerge: "shardId-000000000002") } throws: {
            ($0 as? EngineError)?.kind == .invalidArgument
        }
        await #expect { try await engine.resharder.splitShard(stream: "s", shardId: "shardId-000000000009", newStartingHashKey: "5") } throws: {
            ($0 as? EngineError)?.kind == .resourceNotFound
        }
        try await engine.resharder.mergeShards(stream: "s", shardToMerge: "shardId-000000000000", adjacentShardToMerge: "shardId-000000000001")
        await #expect { try await engine.resharder.splitShard(stream: "s", shardId: "shardId-000000000000", newStartingHashKey: "5") } throws: {
            ($0 as? EngineError)?.kind == .resourceInUse
        }
        await #expect { _ = try await engine.resharder.updateShardCount(stream: "s", targetShardCount: 5) } throws: {
            ($0 as? EngineError)?.kind == .limitExceeded
        }
    }

    @Test(arguments: [(1, 2), (2, 4), (4, 2), (3, 5), (5, 3), (4, 4)])
    func updateShardCountEndsUniformWithAtMostTwoParents(from: Int, to: Int) async throws {
        let engine = try fixture().open()
        try engine.catalog.createStream(name: "s", shardCount: from)
        for n in 0..<60 { _ = try await engine.writer.putRecord(stream: "s", record: record("k\(n % 9)", "\(n)")) }
        try await engine.resharder.updateShardCount(stream: "s", targetShardCount: to)
        for n in 60..<120 { _ = try await engine.writer.putRecord(stream: "s", record: record("k\(n % 9)", "\(n)")) }
        let m = try engine.catalog.metadata(of: "s")
        #expect(m.status == "ACTIVE")
        #expect(m.openShards.sorted { $0.hashKeyRange.lowerBound < $1.hashKeyRange.lowerBound }.map(\.hashKeyRange) == HashKey.evenRanges(count: to))
        let records = try readFollowingParents(engine, "s")
        #expect(records.count == 120)
        for k in 0..<9 {
            let mine = records.filter { $0.partitionKey == "k\(k)" }.map { Int(String(decoding: $0.data, as: UTF8.self))! }
            #expect(mine == mine.sorted())
        }
    }

    @Test func reshardingSurvivesARestart() async throws {
        let fixture = fixture()
        do {
            let engine = try fixture.open()
            try engine.catalog.createStream(name: "s", shardCount: 1)
            _ = try await engine.writer.putRecord(stream: "s", record: record("k", "1"))
            try await engine.resharder.splitShard(stream: "s", shardId: "shardId-000000000000", newStartingHashKey: "12345")
            _ = try await engine.writer.putRecord(stream: "s", record: record("k", "2"))
            await engine.close()
        }
        let engine = try fixture.open()
        #expect(try engine.catalog.metadata(of: "s").openShards.count == 2)
        #expect(try readFollowingParents(engine, "s").map { String(decoding: $0.data, as: UTF8.self) } == ["1", "2"])
    }

    @Test func readLimitsAllowFiveCallsASecondAndOweBytes() async throws {
        var fixture = fixture()
        fixture.options.enforceReadLimits = true
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        let iterator = try engine.reader.shardIterator(stream: "s", shardId: "shardId-000000000000", start: .trimHorizon)
        /// Whether a GetRecords call is throttled (without printing what it returned).
        func throttled(_ iterator: String) throws -> Bool {
            do {
                _ = try engine.reader.getRecords(iterator: iterator, limit: 10)
                return false
            } catch let error as EngineError where error.kind == .provisionedThroughputExceeded {
                return true
            }
        }
        for _ in 0..<5 { #expect(try !throttled(iterator)) }
        #expect(try throttled(iterator))
        fixture.clock.advance(millis: 200)
        #expect(try !throttled(iterator))

        // 4 MB read in one call leaves about 1.9 MB owed at 2 MiB/s: about 0.9 s of refusals.
        for _ in 0..<4 { _ = try await engine.writer.putRecord(stream: "s", record: PutRecordInput(partitionKey: "k", data: [UInt8](repeating: 1, count: 1_000_000))) }
        fixture.clock.advance(millis: 2000)
        let big = try engine.reader.getRecords(iterator: iterator, limit: 10)
        #expect(big.records.count == 4)
        fixture.clock.advance(millis: 500)
        #expect(try throttled(big.nextShardIterator!))
        fixture.clock.advance(millis: 500)
        #expect(try !throttled(big.nextShardIterator!))
    }
}
