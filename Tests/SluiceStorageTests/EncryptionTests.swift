import Crypto
import Foundation
import Testing
import SluiceTestSupport
@testable import SluiceStorage

/// Envelope encryption in the segment format: no clear record byte on disk, keys checked
/// before anything is served, tampering caught, rotation without rewriting data.
@Suite struct EncryptionTests {
    static let marker = "MARKER-7f3a9c"

    func provider(_ versions: [UInt32] = [1], id: String = "k", seed: UInt8 = 1) -> StaticKeyProvider {
        StaticKeyProvider(versions.map { MasterKey(id: id, version: $0, secret: SymmetricKey(data: [UInt8](repeating: seed &+ UInt8($0), count: 32))) })
    }

    func markedRecords(_ range: Range<Int>) -> [LogRecord] {
        range.map { LogRecord(partitionKey: "\(Self.marker)-key-\($0)", data: Array("\(Self.marker) payload \($0)".utf8)) }
    }

    /// Every file under `directory`, concatenated.
    func allBytes(_ directory: String) -> [UInt8] {
        var bytes: [UInt8] = []
        let walker = FileManager.default.enumerator(atPath: directory)!
        while let name = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory)
            if !isDirectory.boolValue { bytes += RawFile.read(directory + "/" + name) }
        }
        return bytes
    }

    func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard haystack.count >= n.count else { return false }
        return (0...(haystack.count - n.count)).contains { haystack[$0..<$0 + n.count].elementsEqual(n) }
    }

    func encryptedLog(_ tmp: TemporaryDirectory, keys: any KeyProvider, options: LogOptions = LogOptions()) throws -> ShardLog {
        let log = try ShardLog(directory: tmp.file("s/shardId-000000000000"), options: options, keys: keys)
        try log.setEncryption(keyId: "k")
        return log
    }

    @Test func noClearRecordByteReachesTheDisk() async throws {
        let tmp = TemporaryDirectory()
        let log = try encryptedLog(tmp, keys: provider(), options: LogOptions(segmentMaxBytes: 4096))
        for n in 0..<100 { _ = try await log.append(markedRecords(n..<n + 1)) }
        try await log.close()
        let onDisk = allBytes(tmp.path)
        #expect(onDisk.count > 8000)
        #expect(!contains(onDisk, Self.marker))
        #expect(!contains(onDisk, "payload"))
        let reopened = try ShardLog(directory: tmp.file("s/shardId-000000000000"), keys: provider())
        #expect(try readAll(reopened).map(\.data) == markedRecords(0..<100).map(\.data))
        #expect(try readAll(reopened).map(\.partitionKey) == markedRecords(0..<100).map(\.partitionKey))
        #expect(try reopened.offset(atTimestamp: 0) == 0)
    }

    @Test func keyProblemsRefuseToOpenAndLeaveDataIntact() async throws {
        let tmp = TemporaryDirectory()
        let directory = tmp.file("s/shardId-000000000000")
        let log = try encryptedLog(tmp, keys: provider())
        _ = try await log.append(markedRecords(0..<10))
        try await log.close()
        let before = allBytes(tmp.path)

        #expect { _ = try ShardLog(directory: directory, keys: provider(seed: 99)) } throws: { error in
            guard let error = error as? StorageError else { return false }
            return error.code == .wrongKey && error.message.contains("00000000000000000000.seg") && error.message.contains("k version 1")
        }
        #expect { _ = try ShardLog(directory: directory, keys: provider([2])) } throws: { error in
            guard let error = error as? StorageError else { return false }
            return error.code == .keyUnavailable && error.message.contains("00000000000000000000.seg") && error.message.contains("version 1")
        }
        #expect { _ = try ShardLog(directory: directory) } throws: { ($0 as? StorageError)?.code == .keyUnavailable }
        #expect(allBytes(tmp.path) == before)
        #expect(try readAll(try ShardLog(directory: directory, keys: provider())).count == 10)
    }

    @Test func alteredCiphertextIsAnAuthenticationFailure() async throws {
        let tmp = TemporaryDirectory()
        let directory = tmp.file("streams/s/shardId-000000000000")
        let log = try ShardLog(directory: directory, keys: provider())
        try log.setEncryption(keyId: "k")
        for n in 0..<5 { _ = try await log.append(markedRecords(n..<n + 1)) }
        try await log.close()
        RawFile.write(tmp.file("streams/s/stream.json"), Array("{}".utf8))
        let path = segmentFiles(directory)[0]
        // Flip a ciphertext byte of the first frame and repair its CRC, as an attacker would.
        var bytes = RawFile.read(path)
        let headerSize = Int(try SegmentHeader.decode(bytes).encodedSize)
        let length = Int(bytes[headerSize]) | Int(bytes[headerSize + 1]) << 8
        bytes[headerSize + 8 + RecordBatch.headerSize + 14] ^= 0x01
        var crc = CRC32C.checksum(Array(bytes[headerSize..<headerSize + 4]))
        crc = CRC32C.checksum(Array(bytes[(headerSize + 8)..<(headerSize + 8 + length)]), continuing: crc)
        withUnsafeBytes(of: crc.littleEndian) { for k in 0..<4 { bytes[headerSize + 4 + k] = $0[k] } }
        RawFile.write(path, bytes)

        // Without keys verify sees intact CRCs; with them it sees the forgery.
        #expect(try DataDirectoryVerifier().verify(dataDirectory: tmp.path).isClean)
        let verified = try DataDirectoryVerifier(keys: provider()).verify(dataDirectory: tmp.path)
        #expect(!verified.isClean)
        #expect(verified.findings.contains { $0.file == path && $0.position == Int64(headerSize) && $0.message.contains("authentication failed") })

        // The forged frame is cut out; the frames after it are salvaged into a segment
        // sealed under a fresh data key, and no plaintext reaches the disk on the way.
        let reopened = try ShardLog(directory: directory, keys: provider())
        let salvage = try #require(reopened.recoveryReport.salvaged.first)
        #expect(salvage.reason.contains("authentication failed"))
        #expect(salvage.position == Int64(headerSize))
        #expect(try readAll(reopened).map(\.data) == markedRecords(1..<5).map(\.data))
        for file in segmentFiles(directory) { #expect(try SegmentHeader.decode(RawFile.read(file)).isEncrypted) }
        #expect(!contains(allBytes(tmp.path), Self.marker))
    }

    @Test func framesCannotBeMovedBetweenShards() async throws {
        let tmp = TemporaryDirectory()
        let keys = provider()
        var paths: [String] = []
        for shard in ["shardId-000000000000", "shardId-000000000001"] {
            let log = try ShardLog(directory: tmp.file("s/\(shard)"), keys: keys)
            try log.setEncryption(keyId: "k")
            _ = try await log.append(markedRecords(0..<3))
            _ = try await log.append(markedRecords(3..<6))
            try await log.close()
            paths.append(segmentFiles(tmp.file("s/\(shard)"))[0])
        }
        // Same offsets, positions and lengths: only the binding differs.
        let a = RawFile.read(paths[0]), b = RawFile.read(paths[1])
        #expect(a.count == b.count)
        let header = Int(try SegmentHeader.decode(a).encodedSize)
        RawFile.write(paths[1], Array(b[..<header]) + Array(a[header...]))
        let reopened = try ShardLog(directory: tmp.file("s/shardId-000000000001"), keys: keys)
        #expect(reopened.recoveryReport.quarantined.first?.reason.contains("authentication failed") == true)
    }

    @Test func switchingEncryptionStartsANewSegment() async throws {
        let tmp = TemporaryDirectory()
        let directory = tmp.file("s/shardId-000000000000")
        let log = try ShardLog(directory: directory, keys: provider())
        _ = try await log.append([LogRecord(partitionKey: "k", data: Array("clear".utf8))])
        try log.setEncryption(keyId: "k")
        _ = try await log.append(markedRecords(0..<1))
        try log.setEncryption(keyId: nil)
        _ = try await log.append([LogRecord(partitionKey: "k", data: Array("clear again".utf8))])
        #expect(segmentFiles(directory).count == 3)
        #expect(try readAll(log).count == 3)
        #expect(!contains(allBytes(tmp.path), Self.marker))
        #expect { try log.setEncryption(keyId: "unknown") } throws: { ($0 as? StorageError)?.code == .keyUnavailable }
    }

    @Test func rotateRewrapRetireKeepsEveryRecordReadable() async throws {
        let tmp = TemporaryDirectory()
        let keyPath = tmp.file("master.key")
        let dataDirectory = tmp.file("data")
        let shardDirectory = dataDirectory + "/streams/s/shardId-000000000000"
        var keyFile = try LocalKeyFile.create(path: keyPath, keyId: "k")
        let log = try ShardLog(directory: shardDirectory, options: LogOptions(segmentMaxBytes: 2048), keys: keyFile.provider)
        try log.setEncryption(keyId: "k")
        for n in 0..<40 { _ = try await log.append(markedRecords(n..<n + 1)) }
        try await log.close()

        try keyFile.rotate()
        try keyFile.save()
        let rewrapper = DataKeyRewrapper()
        #expect(try rewrapper.usage(dataDirectory: dataDirectory)["k"]?.keys.sorted() == [1])
        let segmentBytesBefore = segmentFiles(shardDirectory).map { Array(RawFile.read($0).dropFirst(200)) }
        let result = try rewrapper.rewrap(dataDirectory: dataDirectory, keys: try LocalKeyFile.load(path: keyPath).provider)
        #expect(result.rewrapped == segmentFiles(shardDirectory).count && result.rewrapped > 1)
        #expect(try rewrapper.usage(dataDirectory: dataDirectory)["k"]?.keys.sorted() == [2])
        // Record data was not rewritten: only the headers changed.
        #expect(segmentFiles(shardDirectory).map { Array(RawFile.read($0).dropFirst(200)) } == segmentBytesBefore)
        #expect(try rewrapper.rewrap(dataDirectory: dataDirectory, keys: try LocalKeyFile.load(path: keyPath).provider).current == result.rewrapped)

        var reloaded = try LocalKeyFile.load(path: keyPath)
        #expect(throws: StorageError.self) { try reloaded.retire(keyId: "k", version: 2) }
        try reloaded.retire(keyId: "k", version: 1)
        try reloaded.save()
        let reopened = try ShardLog(directory: shardDirectory, keys: try LocalKeyFile.load(path: keyPath).provider)
        #expect(try readAll(reopened).map(\.data) == markedRecords(0..<40).map(\.data))
    }

    @Test func anInterruptedHeaderRewriteIsFinishedOnOpen() async throws {
        let tmp = TemporaryDirectory()
        let directory = tmp.file("s/shardId-000000000000")
        let v1 = provider([1]), both = provider([1, 2])
        let log = try ShardLog(directory: directory, keys: v1)
        try log.setEncryption(keyId: "k")
        _ = try await log.append(markedRecords(0..<3))
        try await log.close()
        let path = segmentFiles(directory)[0]
        var header = try SegmentHeader.decode(RawFile.read(path))
        let context = SegmentContext(label: "s/shardId-000000000000", baseOffset: 0)
        header.envelope = try DataKeyEnvelope.decode(header.envelope).rewrapped(under: try both.activeKey(id: "k"), keys: both, context: context).encode()
        // The crash happened after the side file was written, before the segment was touched.
        RawFile.write(path + SegmentHeaderRewriter.sideSuffix, header.encode())
        let reopened = try ShardLog(directory: directory, keys: provider([2]))
        #expect(try readAll(reopened).count == 3)
        #expect(!RawFile.exists(path + SegmentHeaderRewriter.sideSuffix))
    }

    @Test func keyFileRulesAndMessages() throws {
        let tmp = TemporaryDirectory()
        let path = tmp.file("master.key")
        let created = try LocalKeyFile.create(path: path)
        #expect(try PosixFileSystem().permissions(path) == 0o600)
        #expect(created.entries.map(\.version) == [1])
        #expect { _ = try LocalKeyFile.create(path: path) } throws: { ($0 as? StorageError)?.message.contains("already exists") == true }
        chmod(path, 0o644)
        #expect { _ = try LocalKeyFile.load(path: path) } throws: { error in
            let message = (error as? StorageError)?.message ?? ""
            return message.contains(path) && message.contains("mode 644") && message.contains("chmod 600 \(path)")
        }
        chmod(path, 0o600)
        #expect(try LocalKeyFile.load(path: path).entries.count == 1)
        #expect { _ = try LocalKeyFile.load(path: tmp.file("missing.key")) } throws: {
            ($0 as? StorageError)?.message.contains("sluice keys init") == true
        }
        RawFile.write(tmp.file("bad.key"), Array("not json".utf8))
        chmod(tmp.file("bad.key"), 0o600)
        #expect { _ = try LocalKeyFile.load(path: tmp.file("bad.key")) } throws: {
            ($0 as? StorageError)?.message.contains("is not a Sluice key file") == true
        }
        // The secret is in the file but never in what a listing or a description shows.
        let key = try LocalKeyFile.load(path: path).provider.activeKey(id: "sluice-master")
        #expect("\(key)" == "sluice-master v1")
    }
}
