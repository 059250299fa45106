import Testing
import SluiceTestSupport
@testable import SluiceStorage

/// The journal is a file on a disk: replay applies only writes sluiced could have made.
@Suite struct JournalReplayTests {
    let fs = PosixFileSystem()
    let segment = "streams/s/shardId-000000000000/00000000000000000000.seg"

    func directory() throws -> TemporaryDirectory {
        let tmp = TemporaryDirectory()
        try fs.createDirectories(tmp.file("streams/s/shardId-000000000000"))
        RawFile.write(tmp.file(segment), [UInt8](repeating: 1, count: 100))
        return tmp
    }

    func write(_ path: String, at position: Int64, _ count: Int = 8) -> JournalFormat.Write {
        JournalFormat.Write(path: path, position: position, bytes: [UInt8](repeating: 7, count: count))
    }

    @Test func legitimateWritesContinueTheSegment() throws {
        let tmp = try directory()
        let report = try JournalReplay(dataDirectory: tmp.path, fs: fs).apply([[write(segment, at: 100)], [write(segment, at: 108)], [write(segment, at: 50)]])
        #expect(report.writes == 3 && report.rejected.isEmpty)
        #expect(RawFile.read(tmp.file(segment)).count == 116)
    }

    @Test func writesOutsideTheLayoutAreRejectedAndTouchNothing() throws {
        let tmp = try directory()
        let outside = tmp.path + "-outside.seg"
        RawFile.write(outside, [0])
        defer { try? fs.removeFile(outside) }
        let crafted = [
            write("../" + String(tmp.path.split(separator: "/").last!) + "-outside.seg", at: 0),
            write(outside, at: 0),
            write("streams/../streams/s/shardId-000000000000/00000000000000000000.seg", at: 0),
            write("streams/./shardId-000000000000/00000000000000000000.seg", at: 0),
            write("streams/s/shardId-000000000000/../../../x.seg", at: 0),
            write("streams/s/shardId-00000000000x/00000000000000000000.seg", at: 0),
            write("streams/s/shardId-000000000000/0000000000000000000a.seg", at: 0),
            write("engine.key", at: 0),
        ]
        let report = try JournalReplay(dataDirectory: tmp.path, fs: fs).apply(crafted.map { [$0] })
        #expect(report.rejected.count == crafted.count && report.writes == 0)
        #expect(RawFile.read(outside) == [0])
    }

    @Test func impossiblePositionsAreRejectedNotAStartFailure() throws {
        let tmp = try directory()
        let crafted = [write(segment, at: 1 << 50), write(segment, at: -8), write(segment, at: 101),
                       write(segment, at: 0, CommitJournal.maxFlushBytes + 1)]
        let report = try JournalReplay(dataDirectory: tmp.path, fs: fs).apply(crafted.map { [$0] })
        #expect(report.rejected.count == 4 && report.writes == 0)
        #expect(RawFile.read(tmp.file(segment)).count == 100)
    }

    @Test func aDryRunRejectsWhatTheReplayRejects() throws {
        let tmp = try directory()
        let entries = [[write(segment, at: 100)], [write(segment, at: 1 << 50)], [write("/etc/passwd", at: 0)], [write(segment, at: 108)]]
        let dry = try JournalReplay(dataDirectory: tmp.path, fs: fs).dryRun(entries)
        #expect(RawFile.read(tmp.file(segment)).count == 100)
        let real = try JournalReplay(dataDirectory: tmp.path, fs: fs).apply(entries)
        #expect(dry == real)
        #expect(real.writes == 2 && real.rejected.count == 2)
    }

    @Test func aPositionPast2To63DecodesNegativeAndIsRejected() throws {
        var out = JournalFormat.encodeHeader(generation: 3)
        JournalFormat.appendEntry([write(segment, at: 0)], generation: 3, to: &out)
        // Patch the position (after count u32, path length u16 and path) to 2^64 − 5.
        let at = JournalFormat.headerSize + JournalFormat.entryHeaderSize + 4 + 2 + segment.utf8.count
        out.storeLE(UInt64.max - 4, at: at)
        // Recompute the entry's CRC so only the position is crafted.
        let bodyStart = JournalFormat.headerSize + JournalFormat.entryHeaderSize
        let length = Int(out.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: JournalFormat.headerSize + 12, as: UInt32.self) })
        var crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(JournalFormat.headerSize + 4)..<(JournalFormat.headerSize + 16)])) }
        crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[bodyStart..<(bodyStart + length)]), continuing: crc) }
        out.storeLE(crc, at: JournalFormat.headerSize + 16)
        let entries = JournalFormat.decodeEntries(out, generation: 3)
        #expect(entries.count == 1 && entries[0][0].position < 0)
        let tmp = try directory()
        #expect(try JournalReplay(dataDirectory: tmp.path, fs: fs).apply(entries).rejected.count == 1)
    }
}
