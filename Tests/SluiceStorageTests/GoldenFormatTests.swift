import Crypto
import Foundation
import Testing
import SluiceTestSupport
@testable import SluiceStorage

/// Files written by this version, committed under `Golden/`, that every later version must
/// read to the same records: a format change that would misread data already on edge
/// boxes fails here, however the round-trip tests fare. `SLUICE_WRITE_GOLDEN=1 swift test
/// --filter GoldenFormatTests` writes them anew (only for a deliberate format version).
@Suite struct GoldenFormatTests {
    static let directory = GoldenFiles.directory(beside: #filePath)
    static let writing = GoldenFiles.writing
    static let keys = GoldenFiles.keys
    static let startMillis = GoldenFiles.startMillis

    /// Keys of every length class, empty and binary data, arrival times that repeat.
    /// The big record goes first: it creates the segment, so in the journal's case the
    /// small appends after it are in the journal only.
    static let expected: [(key: String, data: [UInt8], step: Int64)] = [
        ("big", [UInt8](repeating: 0x42, count: 70_000), 0), ("k", Array("first".utf8), 7), ("ключ-ü", Array("unicode key".utf8), 0),
        (String(repeating: "x", count: 256), [], 5), ("bin", [0, 1, 2, 255, 254, 10, 13], 1_000), ("json", Array(#"{"a":1,"b":[true,null]}"#.utf8), 0),
    ]

    /// Appends the expected records, one append per distinct arrival time.
    static func write(_ log: ShardLog, clock: ManualTimeSource) async throws {
        for record in expected {
            clock.advance(millis: record.step)
            _ = try await log.append([LogRecord(partitionKey: record.key, data: record.data)])
        }
    }

    static func check(_ records: [StoredRecord]) {
        #expect(records.count == expected.count)
        var millis = startMillis
        for (k, (record, want)) in zip(records, expected).enumerated() {
            millis += want.step
            #expect(record.offset == UInt64(k))
            #expect(record.partitionKey == want.key)
            #expect(record.data == want.data)
            #expect(record.timestampMillis == millis)
        }
    }

    /// A copy of a golden directory to open (recovery may write beside the files).
    func copy(_ name: String, _ tmp: TemporaryDirectory) throws -> String {
        let target = tmp.file(name)
        try FileManager.default.copyItem(atPath: Self.directory + "/" + name, toPath: target)
        return target
    }

    @Test("a plain segment of version 1 reads to the same records, and is what this version writes byte for byte")
    func plainSegment() async throws {
        let tmp = TemporaryDirectory()
        let clock = ManualTimeSource(nowMillis: Self.startMillis)
        let fresh = try ShardLog(directory: tmp.file("fresh/shardId-000000000000"), clock: clock)
        try await Self.write(fresh, clock: clock)
        try await fresh.close()
        let written = tmp.file("fresh/shardId-000000000000/00000000000000000000.seg")
        if Self.writing { try Self.replace("plain", with: tmp.file("fresh")) }
        let golden = Self.directory + "/plain/shardId-000000000000/00000000000000000000.seg"
        let same = RawFile.read(written) == RawFile.read(golden)
        #expect(same, "this version writes a plain segment differently: a format change needs a new version")
        let log = try ShardLog(directory: try copy("plain", tmp) + "/shardId-000000000000")
        Self.check(try readAll(log))
        #expect(log.recoveryReport.tornTails.isEmpty && log.recoveryReport.quarantined.isEmpty)
    }

    @Test("an encrypted segment of version 1 opens with the committed key to the same records, and holds none in clear")
    func encryptedSegment() async throws {
        let tmp = TemporaryDirectory()
        if Self.writing {
            let clock = ManualTimeSource(nowMillis: Self.startMillis)
            // Data keys are bound to the last two components of the shard's path: generate
            // under the name the test reads.
            let log = try ShardLog(directory: tmp.file("gen/encrypted/shardId-000000000000"), clock: clock, keys: Self.keys)
            try log.setEncryption(keyId: "golden")
            try await Self.write(log, clock: clock)
            try await log.close()
            try Self.replace("encrypted", with: tmp.file("gen/encrypted"))
        }
        let directory = try copy("encrypted", tmp) + "/shardId-000000000000"
        let bytes = RawFile.read(directory + "/00000000000000000000.seg")
        #expect(!bytes.isEmpty && !contains(bytes, "unicode key") && !contains(bytes, #"{"a":1"#))
        Self.check(try readAll(try ShardLog(directory: directory, keys: Self.keys)))
        #expect { _ = try ShardLog(directory: directory) } throws: { ($0 as? StorageError)?.code == .keyUnavailable }
    }

    @Test("a commit journal of version 1 with entries the segments lack (a power cut) replays to the same records")
    func journalAfterPowerCut() async throws {
        let tmp = TemporaryDirectory()
        if Self.writing {
            let fs = PowerLossFileSystem()
            let root = tmp.file("gen")
            let clock = ManualTimeSource(nowMillis: Self.startMillis)
            // A small journal file: the committed copy stays small (the default is 16 MiB of zeros).
            let journal = try CommitJournal(dataDirectory: root, fileSystem: fs, fileBytes: Int64(JournalFormat.headerSize) + 4 * Int64(CommitJournal.maxFlushBytes))
            let log = try ShardLog(directory: root + "/streams/s/shardId-000000000000", fileSystem: fs, clock: clock, journal: journal)
            // A first append creates (and fsyncs) the segment; the rest live in the journal only.
            try await Self.write(log, clock: clock)
            try fs.cutPower()
            try Self.replace("journal", with: root)
        }
        let root = try copy("journal", tmp)
        #expect(try CommitJournal.pendingEntries(dataDirectory: root) > 0, "the golden journal has entries to replay")
        // Without the journal the segment holds the first record only.
        let segment = root + "/streams/s/shardId-000000000000/00000000000000000000.seg"
        #expect(RawFile.read(segment).count < RawFile.read(Self.directory + "/plain/shardId-000000000000/00000000000000000000.seg").count)
        let journal = try CommitJournal(dataDirectory: root)
        #expect(journal.replayReport.writes > 0 && journal.replayReport.rejected.isEmpty)
        Self.check(try readAll(try ShardLog(directory: root + "/streams/s/shardId-000000000000", journal: journal)))
    }

    static func replace(_ name: String, with source: String) throws {
        try GoldenFiles.replace(name, in: directory, with: source)
    }

    func contains(_ haystack: [UInt8], _ needle: String) -> Bool { GoldenFiles.contains(haystack, needle) }
}

/// Record origins (RecordOrigin): kept beside records, plain and sealed, never changing a
/// record without one.
@Suite struct RecordOriginTests {
    @Test("origins round-trip in plain and sealed segments, beside records without one")
    func roundTrip() async throws {
        let tmp = TemporaryDirectory()
        for sealed in [false, true] {
            let directory = tmp.file("\(sealed)/shardId-000000000000")
            let log = try ShardLog(directory: directory, keys: sealed ? GoldenFormatTests.keys : nil)
            if sealed { try log.setEncryption(keyId: "golden") }
            let producers: [UInt64] = [.max - 1, .max]
            // Explicit hash keys (the spool keeps them): the largest, the smallest, and one
            // that is no hash key at all, which is left out rather than written.
            let hashKeys: [String?] = [nil, "340282366920938463463374607431768211455", "0", nil, "12x"]
            let written: [LogRecord] = (0..<50).map { (n: Int) -> LogRecord in
                let origin: RecordOrigin? = n % 4 == 0 ? nil : RecordOrigin(producer: producers[n % 2], sequence: UInt64(n) * 1_000)
                return LogRecord(partitionKey: "k\(n % 3)", data: Array("r\(n)".utf8), explicitHashKey: hashKeys[n % 5], origin: origin)
            }
            _ = try await log.append(Array(written.prefix(20)))
            _ = try await log.append(Array(written.dropFirst(20)))
            try await log.close()
            let read = try readAll(try ShardLog(directory: directory, keys: sealed ? GoldenFormatTests.keys : nil))
            #expect(read.map { $0.data } == written.map { $0.data })
            #expect(read.map { $0.partitionKey } == written.map { $0.partitionKey })
            #expect(read.map { $0.origin } == written.map { $0.origin })
            #expect(read.map { $0.explicitHashKey } == written.map { $0.explicitHashKey == "12x" ? nil : $0.explicitHashKey })
            let log2 = try ShardLog(directory: directory, keys: sealed ? GoldenFormatTests.keys : nil)
            #expect(try log2.highWater(of: [.max - 1, .max, 7], from: 0) == [.max - 1: 46_000, .max: 49_000])
            #expect(try log2.highWater(of: [.max], from: 48) == [.max: 49_000])
            // Exact membership: stored origins are found, a sequence between them is not.
            let wanted: Set<RecordOrigin> = [RecordOrigin(producer: .max, sequence: 49_000), RecordOrigin(producer: .max, sequence: 48_000), RecordOrigin(producer: .max - 1, sequence: 46_000)]
            #expect(try log2.origins(among: wanted, from: 0) == [RecordOrigin(producer: .max, sequence: 49_000), RecordOrigin(producer: .max - 1, sequence: 46_000)])
        }
    }

    @Test("a record whose explicit hash key is not 1 to 39 digits is refused as corrupt, not read")
    func malformedHashKey() throws {
        var frame: [UInt8] = []
        RecordBatch.appendFrame(to: &frame, entries: [(timestamp: 1, records: [LogRecord(partitionKey: "k", data: [7], explicitHashKey: "5")])], firstOffset: 0)
        let body = Array(frame[Frame.headerSize...])
        // Body: batch header, then the record's time (8), key field (2), data length (4).
        let lengthAt = RecordBatch.headerSize + 8 + 2 + 4
        #expect(body[lengthAt] == 1 && body[lengthAt + 1] == UInt8(ascii: "5"))
        for (at, byte) in [(lengthAt + 1, UInt8(ascii: "a")), (lengthAt, 0), (lengthAt, 40)] {
            var damaged = body
            damaged[at] = byte
            #expect(throws: StorageError.self) {
                try damaged.withUnsafeBytes { try RecordBatch.forEachRecord(in: $0) { _ in } }
            }
        }
        let decoded = try body.withUnsafeBytes { raw in
            var out: [StoredRecord] = []
            try RecordBatch.forEachRecord(in: raw) { out.append($0) }
            return out
        }
        #expect(decoded.map(\.explicitHashKey) == ["5"])
    }
}
