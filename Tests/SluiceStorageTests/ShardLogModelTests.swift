import Testing
import SluiceTestSupport
@testable import SluiceStorage

/// Random operations on a real log, checked after each step against a plain array of what
/// was acknowledged: appends, reads with random limits, restarts, torn tails, retention
/// and time lookups.
@Suite struct ShardLogModelTests {
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomOperationsMatchTheModel(seed: UInt64) async throws {
        var random = SeededRandom(seed: seed)
        let tmp = TemporaryDirectory()
        let clock = ManualTimeSource(nowMillis: 1_000_000)
        let options = LogOptions(segmentMaxBytes: 3000, segmentMaxAgeMillis: 5_000, indexIntervalBytes: 400)
        var log = try ShardLog(directory: shardDirectory(tmp), options: options, clock: clock)
        var model: [StoredRecord] = []
        var endOffset: UInt64 = 0

        for step in 0..<400 {
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<45:
                let count = Int.random(in: 1...5, using: &random)
                let batch = (0..<count).map { _ in
                    LogRecord(partitionKey: "key\(Int.random(in: 0..<4, using: &random))",
                              data: (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
                }
                let result = try await log.append(batch)
                #expect(result.firstOffset == endOffset, "step \(step)")
                for (k, record) in batch.enumerated() {
                    model.append(StoredRecord(offset: result.firstOffset + UInt64(k), timestampMillis: result.timestampMillis,
                                              partitionKey: record.partitionKey, data: record.data))
                }
                endOffset += UInt64(count)
            case 45..<75:
                let from = UInt64.random(in: 0...(endOffset + 2), using: &random)
                let maxRecords = Int.random(in: 1...20, using: &random)
                let maxBytes = Int.random(in: 1...3000, using: &random)
                let result = try log.read(from: from, maxRecords: maxRecords, maxBytes: maxBytes)
                var expected: [StoredRecord] = []
                var bytes = 0
                for record in model where record.offset >= from {
                    let size = record.partitionKey.utf8.count + record.data.count
                    if !expected.isEmpty && (expected.count >= maxRecords || bytes + size > maxBytes) { break }
                    expected.append(record)
                    bytes += size
                }
                #expect(result.records == expected, "step \(step): read from \(from)")
                #expect(result.nextOffset == (expected.last.map { $0.offset + 1 } ?? max(from, endOffset)) || result.nextOffset == max(from, endOffset), "step \(step)")
            case 75..<83:
                try await log.close()
                log = try ShardLog(directory: shardDirectory(tmp), options: options, clock: clock)
                #expect(log.recoveryReport.tornTails.isEmpty && log.recoveryReport.quarantined.isEmpty, "step \(step)")
            case 83..<88:
                // A crash in the middle of an unacknowledged write leaves garbage at the tail.
                try await log.close()
                if let newest = segmentFiles(shardDirectory(tmp)).last {
                    RawFile.append(newest, (0..<Int.random(in: 1...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
                }
                log = try ShardLog(directory: shardDirectory(tmp), options: options, clock: clock)
                #expect(log.recoveryReport.quarantined.isEmpty, "step \(step)")
            case 88..<95:
                clock.advance(millis: Int64.random(in: 1...3_000, using: &random))
            default:
                let cutoff = clock.nowMillis() - Int64.random(in: 0...20_000, using: &random)
                try log.deleteSegments(newestRecordBefore: cutoff)
                let horizon = log.trimHorizon
                let dropped = model.filter { $0.offset < horizon }
                #expect(dropped.allSatisfy { $0.timestampMillis < cutoff }, "step \(step): retention deleted a live record")
                model.removeAll { $0.offset < horizon }
                if let first = model.first {
                    let t = Int64.random(in: (first.timestampMillis - 10)...(clock.nowMillis() + 10), using: &random)
                    let expected = model.first { $0.timestampMillis >= t }?.offset ?? endOffset
                    #expect(try log.offset(atTimestamp: t) == expected, "step \(step)")
                }
            }
            #expect(log.endOffset == endOffset, "step \(step)")
        }
        #expect(try readAll(log, page: 13) == model)
    }
}
