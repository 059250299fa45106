import Crypto
import Foundation
import Logging
import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceGateway

/// Spools written by this version, committed under `Golden/`, that every later version must
/// drain to the same records with every field (explicit hash key, origin, arrival time) and
/// resume at the same cursor: an edge box upgraded with records in its spool loses none.
/// (`GoldenFiles`: how to write them anew.)
@Suite struct GoldenSpoolTests {
    static let directory = GoldenFiles.directory(beside: #filePath)
    static let keys = GoldenFiles.keys
    static let startMillis = GoldenFiles.startMillis
    /// The spool's shard directory under a golden root: data keys are bound to its last two
    /// path components, so encrypted spools are generated under the name they are read by.
    static let shardPath = "s/spool-shardId-000000000000"
    /// Drained before the cursor was written: a reopened spool resumes after them.
    static let drained = 2

    static let expected: [LogRecord] = [
        LogRecord(partitionKey: "dev-1", data: Array("drained".utf8)),
        LogRecord(partitionKey: "dev-2", data: [], explicitHashKey: "0"),
        LogRecord(partitionKey: "dev-3", data: Array("first pending".utf8), origin: RecordOrigin(producer: 0xFEED_F00D, sequence: 4_096)),
        LogRecord(partitionKey: "ключ-ü", data: [0, 1, 2, 255, 10, 13], explicitHashKey: "340282366920938463463374607431768211455"),
        LogRecord(partitionKey: String(repeating: "x", count: 256), data: [UInt8](repeating: 0x42, count: 5_000),
                  explicitHashKey: "170141183460469231731687303715884105728", origin: RecordOrigin(producer: .max, sequence: .max)),
        LogRecord(partitionKey: "json", data: Array(#"{"a":1,"b":[true,null]}"#.utf8), origin: RecordOrigin(producer: 1, sequence: 0)),
    ]

    var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// Spools `expected` one append per record, 10 ms apart, drains the first two and closes.
    func write(root: String, keys: (any KeyProvider)?) async throws {
        let clock = ManualTimeSource(nowMillis: Self.startMillis)
        let spool = try ShardSpool(
            directory: root + "/" + Self.shardPath, segmentMaxBytes: 1 << 20, keys: keys, keyId: keys == nil ? nil : "golden",
            time: clock, logger: logger
        )
        for record in Self.expected {
            clock.advance(millis: 10)
            try await spool.append([record])
        }
        try spool.advance(to: UInt64(Self.drained))
        try await spool.close()
    }

    /// Opens a copy of golden spool `name` and checks it resumes at the cursor with every field.
    func checkReads(_ name: String, keys: (any KeyProvider)?) throws {
        let tmp = TemporaryDirectory()
        let root = tmp.file(name)
        try FileManager.default.copyItem(atPath: Self.directory + "/" + name, toPath: root)
        let spool = try ShardSpool(
            directory: root + "/" + Self.shardPath, segmentMaxBytes: 1 << 20, keys: keys, keyId: keys == nil ? nil : "golden", logger: logger
        )
        #expect(spool.head == UInt64(Self.drained) && spool.pendingRecords == UInt64(Self.expected.count - Self.drained))
        #expect(spool.cursorSavedAtMillis == Self.startMillis + 10 * Int64(Self.expected.count))
        let read = try spool.peek(maxRecords: 100, maxBytes: 1 << 20)
        #expect(read.map(\.logRecord) == Array(Self.expected.dropFirst(Self.drained)))
        #expect(read.map(\.offset) == (Self.drained..<Self.expected.count).map(UInt64.init))
        #expect(read.map(\.timestampMillis) == (Self.drained..<Self.expected.count).map { Self.startMillis + 10 * Int64($0 + 1) })
    }

    static func replace(_ name: String, with source: String) throws {
        try GoldenFiles.replace(name, in: directory, with: source)
    }

    @Test("a plain spool of version 1 drains to the same records from its cursor, and is what this version writes byte for byte")
    func plainSpool() async throws {
        let tmp = TemporaryDirectory()
        try await write(root: tmp.file("fresh"), keys: nil)
        if GoldenFiles.writing { try Self.replace("spool-plain", with: tmp.file("fresh")) }
        for file in ["00000000000000000000.seg", "cursor"] {
            let written = RawFile.read(tmp.file("fresh/\(Self.shardPath)/\(file)"))
            let golden = RawFile.read(Self.directory + "/spool-plain/\(Self.shardPath)/\(file)")
            #expect(!golden.isEmpty && written == golden, "this version writes a spool's \(file) differently: a format change needs a new version")
        }
        try checkReads("spool-plain", keys: nil)
    }

    @Test("an encrypted spool of version 1 drains with the committed key to the same records, and holds none in clear")
    func encryptedSpool() async throws {
        if GoldenFiles.writing {
            let tmp = TemporaryDirectory()
            try await write(root: tmp.file("gen"), keys: Self.keys)
            try Self.replace("spool-encrypted", with: tmp.file("gen"))
        }
        let segment = RawFile.read(Self.directory + "/spool-encrypted/\(Self.shardPath)/00000000000000000000.seg")
        #expect(!segment.isEmpty)
        for clear in ["first pending", "dev-3", #"{"a":1"#, "340282366920938463463374607431768211455"] {
            #expect(!GoldenFiles.contains(segment, clear), "\(clear) is in the encrypted spool in clear")
        }
        try checkReads("spool-encrypted", keys: Self.keys)
    }
}
