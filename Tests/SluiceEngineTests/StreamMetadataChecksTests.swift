import Foundation
import Testing
import SluiceStorage
import SluiceTestSupport
@testable import SluiceEngine

/// stream.json read back from a disk is checked before any field is used, and a stream
/// whose metadata fails is quarantined, never deleted, while the others open.
@Suite struct StreamMetadataChecksTests {
    func metadata(shards: Int = 2) -> StreamMetadata {
        let ranges = HashKey.evenRanges(count: shards)
        return StreamMetadata(
            name: "s", createdAtMillis: 0, retentionHours: 24, status: "ACTIVE", mode: "PROVISIONED", encryptionType: "NONE",
            keyId: nil, tags: [:], shards: ranges.enumerated().map { k, r in
                ShardMetadata(index: k, hashKeyStart: String(r.lowerBound), hashKeyEnd: String(r.upperBound), startingOffset: 0, createdAtMillis: 0)
            }, enhancedMetrics: [], consumers: []
        )
    }

    @Test func aWellFormedStreamHasNoProblem() {
        #expect(metadata().problem == nil)
    }

    @Test(arguments: [
        "name", "retention", "no shards", "negative index", "huge index", "duplicate index", "bad range", "reversed range",
        "gap", "overlap", "missing parent", "end before start",
    ])
    func eachInconsistencyIsNamed(_ damage: String) {
        var m = metadata()
        switch damage {
        case "name": m.name = ".."  + "/x"
        case "retention": m.retentionHours = Int.max
        case "no shards": m.shards = []
        case "negative index": m.shards[1].index = -1
        case "huge index": m.shards[1].index = Int.max
        case "duplicate index": m.shards[1].index = 0
        case "bad range": m.shards[0].hashKeyStart = "not-a-number"
        case "reversed range": m.shards[0].hashKeyEnd = "0"; m.shards[0].hashKeyStart = "5"
        case "gap": m.shards[1].hashKeyStart = String(UInt128(m.shards[1].hashKeyStart)! + 1)
        case "overlap": m.shards[1].hashKeyStart = "5"
        case "missing parent": m.shards[1].parentIndex = 7
        default: m.shards[0].endOffset = 1; m.shards[0].startingOffset = 5
        }
        #expect(m.problem != nil, "\(damage)")
    }

    @Test func aStreamWithBadMetadataIsQuarantinedAndTheOthersOpen() async throws {
        let tmp = TemporaryDirectory()
        do {
            let engine = try StreamEngine(dataDirectory: tmp.path, clock: ManualTimeSource())
            try engine.catalog.createStream(name: "good", shardCount: 1)
            try engine.catalog.createStream(name: "bad", shardCount: 1)
            _ = try await engine.writer.putRecord(stream: "bad", record: record("k", "kept"))
            await engine.close()
        }
        RawFile.write(tmp.file("streams/bad/stream.json"), Array("{\"name\": 5".utf8))
        let engine = try StreamEngine(dataDirectory: tmp.path, clock: ManualTimeSource())
        #expect(engine.catalog.streamNames() == ["good"])
        #expect(engine.catalog.quarantineReason(of: "bad")?.contains("stream.json cannot be read") == true)
        #expect(throws: EngineError.self) { try engine.catalog.createStream(name: "bad", shardCount: 1) }
        #expect(FileManager.default.fileExists(atPath: tmp.file("streams/bad/shardId-000000000000/" + Segment.fileName(baseOffset: 0))))
        await engine.close()
    }
}
