import Testing
import SluiceTestSupport
@testable import SluiceStorage

/// A segment that takes no more appends keeps a coarse index, so the memory the index of
/// retained data takes stays small under sustained load; reads are unchanged.
@Suite struct SegmentIndexTests {
    @Test func closedSegmentsKeepACoarseIndexAndReadTheSame() async throws {
        let tmp = TemporaryDirectory()
        var options = LogOptions(segmentMaxBytes: 64 << 10, indexIntervalBytes: 512)
        options.closedIndexIntervalBytes = 8 << 10
        let log = try ShardLog(directory: tmp.file("shardId-000000000000"), options: options)
        for n in 0..<600 { _ = try await log.append(records(n..<n + 1, padding: 200)) }
        let segments = log.snapshot().segments
        #expect(segments.count > 2)
        for closed in segments.dropLast() {
            #expect(closed.index.count <= Int(closed.size / options.closedIndexIntervalBytes) + 1)
        }
        #expect(segments.last!.index.count > Int(segments.last!.size / options.closedIndexIntervalBytes) + 1)
        // Every offset reads back exactly, whatever index its segment keeps.
        for offset in stride(from: 0, to: 600, by: 37) {
            let page = try log.read(from: UInt64(offset), maxRecords: 3, maxBytes: 1 << 20)
            #expect(page.records.map(\.offset) == (offset..<min(offset + 3, 600)).map(UInt64.init))
        }
        try await log.close()
        // Recovery builds the same coarse index for closed segments.
        let reopened = try ShardLog(directory: tmp.file("shardId-000000000000"), options: options)
        for closed in reopened.snapshot().segments.dropLast() {
            #expect(closed.index.count <= Int(closed.size / options.closedIndexIntervalBytes) + 1)
        }
    }
}
