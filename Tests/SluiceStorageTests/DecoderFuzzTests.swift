import Foundation
import Testing
import SluiceTestSupport
@testable import SluiceStorage

/// Seeded fuzzing of every decoder that reads a file of ours back from a disk: thousands of
/// damaged inputs each, derived from valid files (bit flips, cut tails, lengths set to the
/// edges of their widths, random runs). Each must be rejected or read, never trap. A
/// failure prints its seed and iteration, so it can be replayed.
@Suite struct DecoderFuzzTests {
    static let iterations = 2_000

    func validSegment(_ tmp: TemporaryDirectory, keys: (any KeyProvider)?) async throws -> (path: String, bytes: [UInt8]) {
        let directory = tmp.file("streams/s/shardId-000000000000")
        let log = try ShardLog(directory: directory, keys: keys)
        try log.setEncryption(keyId: keys == nil ? nil : "k")
        for n in 0..<5 { _ = try await log.append(records(n * 10..<n * 10 + 10)) }
        try await log.close()
        let path = directory + "/" + Segment.fileName(baseOffset: 0)
        return (path, RawFile.read(path))
    }

    @Test(arguments: [false, true])
    func segmentScanner(encrypted: Bool) async throws {
        let tmp = TemporaryDirectory()
        let keys: (any KeyProvider)? = encrypted ? try LocalKeyFile.create(path: tmp.file("master.key"), keyId: "k").provider : nil
        let (path, valid) = try await validSegment(tmp, keys: keys)
        var random = SeededRandom(seed: encrypted ? 2 : 1)
        let fs = PosixFileSystem()
        for iteration in 0..<Self.iterations {
            RawFile.write(path, ByteMutator.mutate(valid, &random))
            let file = try fs.openForReading(path)
            // Either an outcome (clean, torn tail, corrupt) or a typed error: never a trap.
            do {
                _ = try SegmentScanner.scan(file: file, expectedBase: 0, isNewest: iteration % 2 == 0, keys: keys)
            } catch is StorageError {}
        }
    }

    @Test func segmentHeaderAndEnvelope() {
        var random = SeededRandom(seed: 3)
        let header = SegmentHeader(baseOffset: 7, createdAtMillis: 1, envelope: DataKeyEnvelope(keyId: "k", keyVersion: 1, wrapped: [UInt8](repeating: 9, count: 60)).encode())
        let valid = header.encode()
        for _ in 0..<Self.iterations * 5 {
            let bytes = ByteMutator.mutate(valid, &random)
            if let decoded = try? SegmentHeader.decode(bytes), decoded.isEncrypted {
                _ = try? DataKeyEnvelope.decode(decoded.envelope)
            }
            _ = try? DataKeyEnvelope.decode(Array(bytes.dropFirst(34)))
        }
    }

    @Test func commitJournal() throws {
        let tmp = TemporaryDirectory()
        let fs = PosixFileSystem()
        let segment = "streams/s/shardId-000000000000/00000000000000000000.seg"
        try fs.createDirectories(tmp.file("streams/s/shardId-000000000000"))
        var valid = JournalFormat.encodeHeader(generation: 9)
        for n in 0..<4 {
            JournalFormat.appendEntry([JournalFormat.Write(path: segment, position: Int64(n * 16), bytes: [UInt8](repeating: UInt8(n), count: 16))], generation: 9, to: &valid)
        }
        var random = SeededRandom(seed: 4)
        for _ in 0..<Self.iterations {
            RawFile.write(tmp.file(segment), [UInt8](repeating: 0, count: 32))
            let bytes = ByteMutator.mutate(valid, &random)
            guard let generation = JournalFormat.decodeHeader(bytes) else { continue }
            let entries = JournalFormat.decodeEntries(bytes, generation: generation)
            let report = try JournalReplay(dataDirectory: tmp.path, fs: fs).apply(entries)
            #expect(report.writes + report.skipped + report.rejected.count == entries.reduce(0) { $0 + $1.count })
            #expect(!fs.fileExists(tmp.path + "/../outside"))
        }
    }
}
