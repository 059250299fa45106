import Foundation
import Testing
import SluiceStorage
import SluiceTestSupport
@testable import SluiceEngine

@Suite struct StreamEngineTests {
    @Test func createDescribeListDelete() async throws {
        let fixture = EngineFixture()
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "orders", shardCount: 3)
        let m = try engine.catalog.metadata(of: "orders")
        #expect(m.shards.map(\.id) == ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"])
        #expect(m.retentionHours == 24 && m.status == "ACTIVE")
        #expect(engine.catalog.streamNames() == ["orders"])
        #expect(throws: EngineError(.resourceInUse, "Stream orders under account 000000000000 already exists.")) {
            try engine.catalog.createStream(name: "orders", shardCount: 1)
        }
        #expect(throws: EngineError.self) { try engine.catalog.createStream(name: "bad name!", shardCount: 1) }
        #expect(throws: EngineError.self) { try engine.catalog.createStream(name: "zero", shardCount: 0) }
        try await engine.catalog.deleteStream(name: "orders")
        #expect(engine.catalog.streamNames().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: fixture.tmp.path + "/streams/orders"))
        await #expect(throws: EngineError.self) { try await engine.catalog.deleteStream(name: "orders") }
    }

    @Test func shardLimitIsEnforced() throws {
        var fixture = EngineFixture()
        fixture.options.shardLimit = 5
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "a", shardCount: 4)
        #expect(throws: EngineError.self) { try engine.catalog.createStream(name: "b", shardCount: 2) }
        try engine.catalog.createStream(name: "c", shardCount: 1)
    }

    @Test func recordsRouteByMD5AndExplicitHashKey() async throws {
        let engine = try EngineFixture().open()
        try engine.catalog.createStream(name: "s", shardCount: 2)
        // MD5("user1") < 2^127, MD5("device-42") > 2^127.
        #expect(try await engine.writer.putRecord(stream: "s", record: record("user1", "x")).shardId == "shardId-000000000000")
        #expect(try await engine.writer.putRecord(stream: "s", record: record("device-42", "x")).shardId == "shardId-000000000001")
        let explicit = PutRecordInput(partitionKey: "user1", data: [1], explicitHashKey: "340282366920938463463374607431768211455")
        #expect(try await engine.writer.putRecord(stream: "s", record: explicit).shardId == "shardId-000000000001")
    }

    @Test func sequenceNumbersIncreaseAndOrderPerKeyHolds() async throws {
        let engine = try EngineFixture().open()
        try engine.catalog.createStream(name: "s", shardCount: 4)
        var sequences: [String: [String]] = [:]
        for n in 0..<200 {
            let key = "key\(n % 13)"
            let result = try await engine.writer.putRecord(stream: "s", record: record(key, "\(key)-\(n)"))
            sequences[key, default: []].append(result.sequenceNumber)
        }
        for (_, list) in sequences { #expect(list == list.sorted()) }
        let all = try engine.readEverything("s")
        #expect(all.count == 200)
        for n in 0..<13 {
            let mine = all.filter { $0.record.partitionKey == "key\(n)" }
            #expect(Set(mine.map(\.shard)).count == 1)
            #expect(mine.map { String(decoding: $0.record.data, as: UTF8.self) } == stride(from: n, to: 200, by: 13).map { "key\(n)-\($0)" })
        }
    }

    @Test func invalidRecordsAreRefusedAndStoreNothing() async throws {
        let fixture = EngineFixture()
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "kept"))
        let cases: [(PutRecordInput, EngineError.Kind)] = [
            (record("", "x"), .validation),
            (record(String(repeating: "k", count: 257), "x"), .validation),
            (PutRecordInput(partitionKey: "k", data: [UInt8](repeating: 0, count: (1 << 20) + 1)), .validation),
            (PutRecordInput(partitionKey: "kk", data: [UInt8](repeating: 0, count: 1 << 20)), .invalidArgument),
            (PutRecordInput(partitionKey: "k", data: [1], explicitHashKey: "-5"), .invalidArgument),
        ]
        for (bad, kind) in cases {
            await #expect {
                _ = try await engine.writer.putRecords(stream: "s", records: [record("k", "dropped"), bad])
            } throws: { ($0 as? EngineError)?.kind == kind }
        }
        await #expect { _ = try await engine.writer.putRecord(stream: "nope", record: record("k", "x")) } throws: {
            ($0 as? EngineError) == EngineError(.resourceNotFound, "Stream nope under account 000000000000 not found.")
        }
        // A 256-character key and a record of exactly 1 MiB with its key are fine.
        _ = try await engine.writer.putRecord(stream: "s", record: record(String(repeating: "é", count: 256), "x"))
        fixture.clock.advance(millis: 1000)
        _ = try await engine.writer.putRecord(stream: "s", record: PutRecordInput(partitionKey: "k", data: [UInt8](repeating: 1, count: (1 << 20) - 1)))
        let stored = try engine.readEverything("s")
        #expect(stored.count == 3)
        #expect(stored[0].record.data == Array("kept".utf8))
    }

    @Test func everyIteratorTypeStartsWhereKinesisDoes() async throws {
        let fixture = EngineFixture()
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        var sequences: [String] = []
        for n in 0..<10 {
            sequences.append(try await engine.writer.putRecord(stream: "s", record: record("k", "r\(n)")).sequenceNumber)
            fixture.clock.advance(millis: 1000)
        }
        let shard = "shardId-000000000000"
        func texts(_ start: IteratorStart) throws -> [String] {
            let page = try engine.reader.getRecords(iterator: try engine.reader.shardIterator(stream: "s", shardId: shard, start: start), limit: 100)
            return page.records.map { String(decoding: $0.data, as: UTF8.self) }
        }
        #expect(try texts(.trimHorizon) == (0..<10).map { "r\($0)" })
        #expect(try texts(.atSequenceNumber(sequences[4])) == (4..<10).map { "r\($0)" })
        #expect(try texts(.afterSequenceNumber(sequences[4])) == (5..<10).map { "r\($0)" })
        let t7 = fixture.clock.nowMillis() - 3000
        #expect(try texts(.atTimestamp(millis: t7)) == ["r7", "r8", "r9"])
        let latest = try engine.reader.shardIterator(stream: "s", shardId: shard, start: .latest)
        #expect(try engine.reader.getRecords(iterator: latest, limit: 100).records.isEmpty)
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "after-latest"))
        #expect(try engine.reader.getRecords(iterator: latest, limit: 100).records.map(\.data) == [Array("after-latest".utf8)])
        #expect(throws: EngineError.self) {
            try engine.reader.shardIterator(stream: "s", shardId: shard, start: .atSequenceNumber("4000000000000009000000000000000000000000"))
        }
        #expect(throws: EngineError.self) { try engine.reader.shardIterator(stream: "s", shardId: "shardId-000000000009", start: .latest) }
    }

    @Test func iteratorsExpireAfterFiveMinutesAndResist() async throws {
        let fixture = EngineFixture()
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "v"))
        let iterator = try engine.reader.shardIterator(stream: "s", shardId: "shardId-000000000000", start: .trimHorizon)
        fixture.clock.advance(millis: 299_000)
        let page = try engine.reader.getRecords(iterator: iterator, limit: 1)
        #expect(page.records.count == 1)
        fixture.clock.advance(millis: 2_000)
        #expect { try engine.reader.getRecords(iterator: iterator, limit: 1) } throws: { ($0 as? EngineError)?.kind == .expiredIterator }
        // The iterator GetRecords handed back is fresh.
        #expect(try engine.reader.getRecords(iterator: page.nextShardIterator!, limit: 1).records.isEmpty)
        var forged = Array(iterator.utf8)
        forged[10] = forged[10] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect { try engine.reader.getRecords(iterator: String(decoding: forged, as: UTF8.self), limit: 1) } throws: {
            ($0 as? EngineError) == EngineError(.invalidArgument, "Invalid ShardIterator.")
        }
    }

    @Test func getRecordsHonoursLimitAndReportsLag() async throws {
        let fixture = EngineFixture()
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        _ = try await engine.writer.putRecords(stream: "s", records: (0..<30).map { record("k", "\($0)") })
        fixture.clock.advance(millis: 5000)
        let iterator = try engine.reader.shardIterator(stream: "s", shardId: "shardId-000000000000", start: .trimHorizon)
        let first = try engine.reader.getRecords(iterator: iterator, limit: 10)
        #expect(first.records.count == 10)
        #expect(first.millisBehindLatest == 5000)
        let rest = try engine.reader.getRecords(iterator: first.nextShardIterator!, limit: 100)
        #expect(rest.records.count == 20)
        #expect(rest.millisBehindLatest == 0)
        #expect(throws: EngineError.self) { try engine.reader.getRecords(iterator: iterator, limit: 10_001) }
    }

    @Test func writeLimitsThrottleWithKinesisErrorsAndRecover() async throws {
        let fixture = EngineFixture()
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        for chunk in 0..<2 {
            let outcomes = try await engine.writer.putRecords(stream: "s", records: (0..<500).map { record("k", "\(chunk)-\($0)") })
            #expect(!outcomes.contains { if case .failed = $0 { return true } else { return false } })
        }
        let over = try await engine.writer.putRecords(stream: "s", records: [record("k", "1001")])
        guard case .failed(let error) = over[0] else { Issue.record("the 1001st record in a second must be throttled"); return }
        #expect(error.kind == .provisionedThroughputExceeded)
        #expect(error.message == "Rate exceeded for shard shardId-000000000000 in stream s under account 000000000000.")
        await #expect { _ = try await engine.writer.putRecord(stream: "s", record: record("k", "x")) } throws: {
            ($0 as? EngineError)?.kind == .provisionedThroughputExceeded
        }
        fixture.clock.advance(millis: 1000)
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "next second"))
        // Bytes: one full MiB drains the byte bucket.
        fixture.clock.advance(millis: 1000)
        _ = try await engine.writer.putRecord(stream: "s", record: PutRecordInput(partitionKey: "k", data: [UInt8](repeating: 0, count: (1 << 20) - 1)))
        await #expect { _ = try await engine.writer.putRecord(stream: "s", record: record("k", "x")) } throws: {
            ($0 as? EngineError)?.kind == .provisionedThroughputExceeded
        }
        #expect(try engine.readEverything("s").count == 1002)
    }

    @Test func retentionExpiresWholeSegmentsAndCanBeChanged() async throws {
        var fixture = EngineFixture()
        fixture.options.log.segmentMaxAgeMillis = 3_600_000
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "old"))
        fixture.clock.advance(millis: 2 * 3_600_000)
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "new"))
        fixture.clock.advance(millis: 23 * 3_600_000)
        #expect(engine.catalog.enforceRetention() == 1)
        #expect(try engine.readEverything("s").map(\.record.data) == [Array("new".utf8)])
        #expect(throws: EngineError.self) { try engine.catalog.setRetention(stream: "s", hours: 23, increase: false) }
        #expect(throws: EngineError.self) { try engine.catalog.setRetention(stream: "s", hours: 8761, increase: true) }
        #expect(throws: EngineError.self) { try engine.catalog.setRetention(stream: "s", hours: 12, increase: true) }
        try engine.catalog.setRetention(stream: "s", hours: 48, increase: true)
        #expect(throws: EngineError.self) { try engine.catalog.setRetention(stream: "s", hours: 24, increase: true) }
        fixture.clock.advance(millis: 2 * 3_600_000)
        #expect(engine.catalog.enforceRetention() == 0)
        #expect(try engine.readEverything("s").count == 1)
    }

    @Test func tagsFollowKinesisLimits() throws {
        let engine = try EngineFixture().open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        try engine.catalog.addTags(stream: "s", tags: ["team": "edge", "env": "prod"])
        try engine.catalog.removeTags(stream: "s", keys: ["env"])
        #expect(try engine.catalog.metadata(of: "s").tags == ["team": "edge"])
        #expect(throws: EngineError.self) {
            try engine.catalog.addTags(stream: "s", tags: Dictionary(uniqueKeysWithValues: (0..<11).map { ("k\($0)", "v") }))
        }
    }

    @Test func everythingSurvivesARestartIncludingIterators() async throws {
        let fixture = EngineFixture()
        var iterator = ""
        do {
            let engine = try fixture.open()
            try engine.catalog.createStream(name: "s", shardCount: 2)
            try engine.catalog.setRetention(stream: "s", hours: 72, increase: true)
            _ = try await engine.writer.putRecords(stream: "s", records: (0..<50).map { record("k\($0 % 5)", "\($0)") })
            iterator = try engine.reader.shardIterator(stream: "s", shardId: "shardId-000000000000", start: .trimHorizon)
            await engine.close()
        }
        let engine = try fixture.open()
        #expect(try engine.catalog.metadata(of: "s").retentionHours == 72)
        #expect(try engine.readEverything("s").count == 50)
        #expect(try !engine.reader.getRecords(iterator: iterator, limit: 100).records.isEmpty)
        // A stream deleted and created again under the same name does not honour old iterators.
        try await engine.catalog.deleteStream(name: "s")
        fixture.clock.advance(millis: 1)
        try engine.catalog.createStream(name: "s", shardCount: 2)
        #expect { try engine.reader.getRecords(iterator: iterator, limit: 1) } throws: { ($0 as? EngineError)?.kind == .resourceNotFound }
    }
}
