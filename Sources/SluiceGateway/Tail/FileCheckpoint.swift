import FoundationEssentials
import Glibc
import SluiceStorage

/// Where a source stands in one file. A file is the same file only when device, inode
/// and the fingerprint of its first bytes all match, so a new file that reuses a deleted
/// file's inode starts at its beginning instead of at the old file's offset.
struct FileCheckpoint: Codable, Equatable, Sendable {
    var path: String
    var device: UInt64
    var inode: UInt64
    /// CRC32C of the file's first `fingerprintLength` bytes (at most `Fingerprint.maxLength`).
    var fingerprintLength: Int
    var fingerprint: UInt32
    /// Bytes before this offset are durable in the sink or the spool.
    var offset: Int64
    /// The path this file was renamed from and has not finished yet: the file now at that
    /// path waits for it (order across rotation survives a restart). Absent once finished.
    var replaces: String?
    /// The file's producer id in record origins (RecordOrigin): random, new for each file
    /// and each truncation. Absent in checkpoints of versions before deduplication.
    var producer: UInt64?
    /// When this entry's offset was saved (Unix ms): records of the file past `offset`
    /// arrived no earlier, which bounds how far back a restart looks for them.
    var savedAtMillis: Int64?
    /// A batch past `offset` was being stored when this was saved: a restart looks for
    /// its records in the shards (and only then).
    var inFlight: Bool?
}

/// The checkpoints of one source: `DATA_DIR/checkpoints/<source>.json`, replaced
/// atomically (temp file, fsync, rename, fsync directory) after each durable batch.
struct CheckpointStore: Sendable {
    let path: String
    let fs: any FileSystem

    private struct Document: Codable {
        var version = 1
        var files: [FileCheckpoint]
    }

    init(directory: String, source: String, fileSystem: any FileSystem = PosixFileSystem()) throws {
        fs = fileSystem
        try fs.createDirectories(directory)
        path = directory + "/" + PathComponent.encode(source) + ".json"
        // Before names were encoded, a source whose name holds non-ASCII letters kept its
        // checkpoints under the raw name (the config never allowed '/' or a leading '.').
        let legacy = directory + "/" + source + ".json"
        if legacy != path, fs.fileExists(legacy), !fs.fileExists(path) { try fs.rename(legacy, to: path) }
    }

    var exists: Bool { fs.fileExists(path) }

    /// Keeps an unreadable checkpoint file as `<file>.unreadable-<ms>` for inspection;
    /// returns its new name.
    func setAside(now: Int64) throws -> String {
        let aside = path + ".unreadable-\(now)"
        try fs.rename(path, to: aside)
        return aside
    }

    /// - Throws: when the file exists but cannot be read or decoded.
    func load() throws -> [FileCheckpoint] {
        guard fs.fileExists(path) else { return [] }
        let bytes = try fs.readWholeFile(path)
        do {
            return try JSONDecoder().decode(Document.self, from: Data(bytes)).files
        } catch {
            throw StorageError(.corrupt, "checkpoint file \(path) is unreadable (\(error))")
        }
    }

    func save(_ files: [FileCheckpoint]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = try encoder.encode(Document(files: files.sorted { $0.path < $1.path }))
        try fs.writeAtomically(path, Array(bytes), mode: 0o600)
    }
}

/// The identity check on a file's first bytes.
struct Fingerprint: Equatable, Sendable {
    static let maxLength = 256
    var length: Int
    var crc: UInt32

    static let empty = Fingerprint(length: 0, crc: 0)

    /// Reads the first bytes of `fd` (up to `maxLength`).
    static func of(fd: Int32, length: Int = maxLength) -> Fingerprint {
        var buffer = [UInt8](repeating: 0, count: min(length, maxLength))
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return .empty }
        return Fingerprint(length: n, crc: CRC32C.checksum(Array(buffer[..<n])))
    }

    /// Whether the file's first `length` bytes still are what this fingerprint saw.
    func matches(fd: Int32) -> Bool {
        guard length > 0 else { return true }
        return Fingerprint.of(fd: fd, length: length) == self
    }
}
