import Foundation
import Testing
import SluiceTestSupport
@testable import SluiceStorage

@Suite struct ShardLogTests {
    @Test func appendsGetConsecutiveOffsetsAndReadBack() async throws {
        let tmp = TemporaryDirectory()
        let log = try ShardLog(directory: shardDirectory(tmp))
        let first = try await log.append(records(0..<3))
        let second = try await log.append(records(3..<4))
        #expect(first.offsets == 0..<3)
        #expect(second.offsets == 3..<4)
        let all = try readAll(log)
        #expect(all.map(\.offset) == [0, 1, 2, 3])
        #expect(all.map(\.data) == records(0..<4).map(\.data))
        #expect(all.map(\.partitionKey) == records(0..<4).map(\.partitionKey))
        #expect(log.endOffset == 4)
    }

    @Test func readRespectsRecordAndByteLimitsButAlwaysReturnsOne() async throws {
        let tmp = TemporaryDirectory()
        let log = try ShardLog(directory: shardDirectory(tmp))
        _ = try await log.append(records(0..<10, padding: 100))
        let two = try log.read(from: 0, maxRecords: 2, maxBytes: 1 << 20)
        #expect(two.records.map(\.offset) == [0, 1])
        #expect(two.nextOffset == 2)
        let tiny = try log.read(from: 5, maxRecords: 100, maxBytes: 1)
        #expect(tiny.records.map(\.offset) == [5])
        #expect(tiny.nextOffset == 6)
        let rest = try log.read(from: 6, maxRecords: 100, maxBytes: 1 << 20)
        #expect(rest.records.count == 4)
        #expect(rest.nextOffset == 10)
        let end = try log.read(from: 10, maxRecords: 100, maxBytes: 1 << 20)
        #expect(end.records.isEmpty)
        #expect(end.nextOffset == 10)
    }

    @Test func rollsBySizeAndReadsAcrossSegmentsFromAnyOffset() async throws {
        let tmp = TemporaryDirectory()
        let options = LogOptions(segmentMaxBytes: 4096, indexIntervalBytes: 512)
        let log = try ShardLog(directory: shardDirectory(tmp), options: options)
        for n in 0..<200 { _ = try await log.append(records(n..<n + 1, padding: 64)) }
        let segments = segmentFiles(shardDirectory(tmp))
        #expect(segments.count > 3)
        for path in segments { #expect(RawFile.size(path) <= 4096) }
        for start in [0, 1, 57, 58, 120, 199] {
            let result = try log.read(from: UInt64(start), maxRecords: 3, maxBytes: 1 << 20)
            #expect(result.records.first?.offset == UInt64(start))
            #expect(result.records.first?.data == records(start..<start + 1, padding: 64)[0].data)
        }
        #expect(try readAll(log).count == 200)
    }

    @Test func rollsByAge() async throws {
        let tmp = TemporaryDirectory()
        let clock = ManualTimeSource()
        let log = try ShardLog(directory: shardDirectory(tmp), options: LogOptions(segmentMaxAgeMillis: 60_000), clock: clock)
        _ = try await log.append(records(0..<1))
        clock.advance(millis: 30_000)
        _ = try await log.append(records(1..<2))
        #expect(segmentFiles(shardDirectory(tmp)).count == 1)
        clock.advance(millis: 31_000)
        _ = try await log.append(records(2..<3))
        #expect(segmentFiles(shardDirectory(tmp)).count == 2)
    }

    @Test func findsOffsetsByArrivalTime() async throws {
        let tmp = TemporaryDirectory()
        let clock = ManualTimeSource(nowMillis: 1_000_000)
        let log = try ShardLog(directory: shardDirectory(tmp), options: LogOptions(segmentMaxBytes: 2048, indexIntervalBytes: 256), clock: clock)
        for n in 0..<50 {
            _ = try await log.append(records(n..<n + 1, padding: 40))
            clock.advance(millis: 1000)
        }
        #expect(try log.offset(atTimestamp: 0) == 0)
        #expect(try log.offset(atTimestamp: 1_000_000) == 0)
        #expect(try log.offset(atTimestamp: 1_000_001) == 1)
        #expect(try log.offset(atTimestamp: 1_017_000) == 17)
        #expect(try log.offset(atTimestamp: 1_049_000) == 49)
        #expect(try log.offset(atTimestamp: 1_049_001) == 50)
        let stored = try readAll(log)
        #expect(stored[17].timestampMillis == 1_017_000)
    }

    @Test func arrivalTimesNeverRunBackwards() async throws {
        let tmp = TemporaryDirectory()
        let clock = ManualTimeSource(nowMillis: 5_000)
        let log = try ShardLog(directory: shardDirectory(tmp), clock: clock)
        _ = try await log.append(records(0..<1))
        clock.advance(millis: -2_000)
        let second = try await log.append(records(1..<2))
        #expect(second.timestampMillis == 5_000)
    }

    @Test func concurrentAppendsAreGroupCommittedInOrderPerWriter() async throws {
        let tmp = TemporaryDirectory()
        let log = try ShardLog(directory: shardDirectory(tmp))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for n in 0..<50 {
                        _ = try await log.append([LogRecord(partitionKey: "w\(writer)", data: Array("\(n)".utf8))])
                    }
                }
            }
            try await group.waitForAll()
        }
        let all = try readAll(log, page: 1000)
        #expect(all.count == 400)
        #expect(all.map(\.offset) == (0..<400).map(UInt64.init))
        for writer in 0..<8 {
            let mine = all.filter { $0.partitionKey == "w\(writer)" }.map { String(decoding: $0.data, as: UTF8.self) }
            #expect(mine == (0..<50).map(String.init))
        }
        #expect(log.stats.records == 400)
        try await log.close()
        // Group commit: appends that wait for the same flush share one frame.
        let reopened = try ShardLog(directory: shardDirectory(tmp))
        #expect(reopened.recoveryReport.frames <= 400)
        #expect(try readAll(reopened, page: 1000).count == 400)
    }

    @Test func reopenedLogContinuesOffsetsAndKeepsData() async throws {
        let tmp = TemporaryDirectory()
        do {
            let log = try ShardLog(directory: shardDirectory(tmp))
            _ = try await log.append(records(0..<5))
            try await log.close()
        }
        let reopened = try ShardLog(directory: shardDirectory(tmp))
        #expect(reopened.recoveryReport.tornTails.isEmpty && reopened.recoveryReport.quarantined.isEmpty)
        let next = try await reopened.append(records(5..<6))
        #expect(next.firstOffset == 5)
        #expect(try readAll(reopened).map(\.data) == records(0..<6).map(\.data))
    }

    @Test func retentionDeletesWholeExpiredSegmentsOnly() async throws {
        let tmp = TemporaryDirectory()
        let clock = ManualTimeSource(nowMillis: 10_000)
        let log = try ShardLog(directory: shardDirectory(tmp), options: LogOptions(segmentMaxAgeMillis: 1_000), clock: clock)
        for n in 0..<4 {
            _ = try await log.append(records(n * 10..<n * 10 + 10))
            clock.advance(millis: 1_000)
        }
        #expect(segmentFiles(shardDirectory(tmp)).count == 4)
        // Segments hold records from t=10s, 11s, 12s, 13s; cut off everything before 12s.
        #expect(try log.deleteSegments(newestRecordBefore: 12_000) == 2)
        #expect(segmentFiles(shardDirectory(tmp)).count == 2)
        #expect(log.trimHorizon == 20)
        let result = try log.read(from: 0, maxRecords: 100, maxBytes: 1 << 20)
        #expect(result.records.first?.offset == 20)
        // Everything expired: the tail goes too and the next append starts a new segment.
        #expect(try log.deleteSegments(newestRecordBefore: 1_000_000) == 2)
        #expect(log.trimHorizon == 40)
        let next = try await log.append(records(40..<41))
        #expect(next.firstOffset == 40)
        #expect(try readAll(log).map(\.offset) == [40])
    }

    @Test func aFullDiskFailsTheAppendAndLosesNothingStored() async throws {
        let tmp = TemporaryDirectory()
        let fs = FaultyFileSystem()
        let log = try ShardLog(directory: shardDirectory(tmp), fileSystem: fs)
        _ = try await log.append(records(0..<10))
        fs.setBudget(20)
        await #expect(throws: StorageError.self) { _ = try await log.append(records(10..<20, padding: 100)) }
        do {
            _ = try await log.append(records(10..<11, padding: 100))
            Issue.record("an append on a full disk must fail")
        } catch let error as StorageError {
            #expect(error.code == .diskFull)
            #expect(error.message.contains("no space left"))
        }
        fs.setBudget(nil)
        let after = try await log.append(records(10..<11))
        #expect(after.firstOffset == 10)
        #expect(try readAll(log).map(\.data) == records(0..<11).map(\.data))
        // The partial frame was cut back: a reopen finds a clean log.
        let reopened = try ShardLog(directory: shardDirectory(tmp))
        #expect(reopened.recoveryReport.tornTails.isEmpty)
        #expect(try readAll(reopened).count == 11)
    }

    @Test func aFailedFsyncRefusesFurtherWritesUntilReopened() async throws {
        let tmp = TemporaryDirectory()
        let fs = FaultyFileSystem()
        let log = try ShardLog(directory: shardDirectory(tmp), fileSystem: fs)
        _ = try await log.append(records(0..<3))
        fs.setFailSync(true)
        await #expect(throws: StorageError.self) { _ = try await log.append(records(3..<4)) }
        fs.setFailSync(false)
        do {
            _ = try await log.append(records(3..<4))
            Issue.record("writes after a failed fsync must be refused")
        } catch let error as StorageError {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("restarts"))
        }
        #expect(try readAll(log).count == 3)
        let reopened = try ShardLog(directory: shardDirectory(tmp))
        #expect(try readAll(reopened).count == 3)
        #expect(try await reopened.append(records(3..<4)).firstOffset == 3)
    }

    @Test func periodicSyncAcknowledgesBeforeSyncing() async throws {
        let tmp = TemporaryDirectory()
        let log = try ShardLog(directory: shardDirectory(tmp), options: LogOptions(sync: .periodic))
        _ = try await log.append(records(0..<5))
        try await log.sync()
        try await log.close()
        #expect(try readAll(try ShardLog(directory: shardDirectory(tmp))).count == 5)
    }
}
