import Crypto
import Foundation
import Logging
import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceGateway

@Suite struct ShardSpoolTests {
    let tmp = TemporaryDirectory("sluice-spool")
    var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    func records(_ range: Range<Int>, size: Int = 10) -> [LogRecord] {
        range.map { LogRecord(partitionKey: "k", data: Array(String(format: "%0\(size)d", $0).utf8)) }
    }

    @Test func drainsInOrderAndResumesAfterReopen() async throws {
        let directory = tmp.file("stream/spool-shardId-000000000000")
        var spool: ShardSpool? = try ShardSpool(directory: directory, segmentMaxBytes: 1 << 20, keys: nil, keyId: nil, logger: logger)
        try await spool!.append(records(0..<100))
        let first = try spool!.peek(maxRecords: 30, maxBytes: 1 << 20)
        #expect(first.map { String(decoding: $0.data, as: UTF8.self) } == (0..<30).map { String(format: "%010d", $0) })
        try spool!.advance(to: first.last!.offset + 1)
        try await spool!.close()
        spool = nil
        let reopened = try ShardSpool(directory: directory, segmentMaxBytes: 1 << 20, keys: nil, keyId: nil, logger: logger)
        #expect(reopened.pendingRecords == 70)
        #expect(String(decoding: try reopened.peek(maxRecords: 1, maxBytes: 0)[0].data, as: UTF8.self) == String(format: "%010d", 30))
    }

    @Test("the cursor keeps its save time (ManualTimeSource); an old two-field cursor, garbage or an absurd time after the head are read as no time")
    func cursorSaveTime() async throws {
        let directory = tmp.file("stream/spool-shardId-000000000002")
        let clock = ManualTimeSource(nowMillis: 1_800_000_000_000)
        let spool = try ShardSpool(directory: directory, segmentMaxBytes: 1 << 20, keys: nil, keyId: nil, time: clock, logger: logger)
        try await spool.append(records(0..<10))
        try spool.advance(to: 4)
        try await spool.close()
        let cursor = directory + "/cursor"
        #expect(try String(contentsOfFile: cursor, encoding: .utf8) == "sluice-spool-cursor/1 4 1800000000000\n")
        #expect(try ShardSpool(directory: directory, segmentMaxBytes: 1 << 20, keys: nil, keyId: nil, logger: logger).cursorSavedAtMillis == 1_800_000_000_000)
        for (text, head) in [("sluice-spool-cursor/1 4\n", 4), ("sluice-spool-cursor/1 5 soon\n", 5), ("sluice-spool-cursor/1 6 99999999999999999999999\n", 6)] {
            try text.write(toFile: cursor, atomically: true, encoding: .utf8)
            let reopened = try ShardSpool(directory: directory, segmentMaxBytes: 1 << 20, keys: nil, keyId: nil, logger: logger)
            #expect(reopened.head == UInt64(head) && reopened.cursorSavedAtMillis == nil, "\(text)")
        }
    }

    @Test func whollyDrainedSegmentsAreDeletedAndDropOldestCounts() async throws {
        let spool = try ShardSpool(directory: tmp.file("s/spool-shardId-000000000001"), segmentMaxBytes: 4096, keys: nil, keyId: nil, logger: logger)
        for k in 0..<10 { try await spool.append(records(k * 20..<(k + 1) * 20, size: 100)) }
        let segments = spool.log.segmentRanges.count
        #expect(segments > 3)
        let dropped = try spool.dropOldestSegment()
        #expect(dropped > 0)
        #expect(spool.pendingRecords == 200 - dropped)
        #expect(spool.log.segmentRanges.count == segments - 1)
        let next = try spool.peek(maxRecords: 1, maxBytes: 0)[0]
        #expect(next.offset == dropped)
        try spool.advance(to: 200)
        #expect(spool.isEmpty)
        #expect(spool.diskBytes == 0)
    }

    @Test func encryptedSpoolHoldsNoPlaintext() async throws {
        let keys = StaticKeyProvider([MasterKey(id: "k1", version: 1, secret: SymmetricKey(size: .bits256))])
        let directory = tmp.file("s/spool-shardId-000000000002")
        let spool = try ShardSpool(directory: directory, segmentMaxBytes: 1 << 20, keys: keys, keyId: "k1", logger: logger)
        try await spool.append([LogRecord(partitionKey: "k", data: Array("PLAINTEXT-MARKER".utf8))])
        try await spool.close()
        for name in try PosixFileSystem().listDirectory(directory) {
            let bytes = RawFile.read(directory + "/" + name)
            #expect(!String(decoding: bytes, as: UTF8.self).contains("PLAINTEXT-MARKER"), "plaintext in \(name)")
        }
        let reopened = try ShardSpool(directory: directory, segmentMaxBytes: 1 << 20, keys: keys, keyId: "k1", logger: logger)
        #expect(try reopened.peek(maxRecords: 1, maxBytes: 0)[0].data == Array("PLAINTEXT-MARKER".utf8))
    }
}
