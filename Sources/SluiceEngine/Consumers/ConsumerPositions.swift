import FoundationEssentials
import SluiceStorage

/// A durable consumer's position file (POSITIONS.md beside this file): per shard, the
/// next offset to hand over and whether the shard is done.
struct ConsumerPositions: Codable, Sendable, Equatable {
    struct Shard: Codable, Sendable, Equatable {
        var next: UInt64
        var finished: Bool
    }

    static let currentFormat = 1

    var format = Self.currentFormat
    var consumer: String
    var streamCreatedAtMillis: Int64
    var paused = false
    /// By shard index, as a decimal string (JSON object keys are strings).
    var shards: [String: Shard] = [:]
    /// CRC32C of the file written without this field: a flipped digit is caught.
    var crc32c: UInt32?

    subscript(index: Int) -> Shard? {
        get { shards[String(index)] }
        set { shards[String(index)] = newValue }
    }

    /// The file's path: inside the stream's directory, the name encoded as one component.
    static func path(consumer: String, streamDirectory: String) -> String {
        streamDirectory + "/consumers/" + PathComponent.encode(consumer) + ".json"
    }

    /// Reads the file; nil when there is none.
    /// - Throws: `EngineError` saying what is wrong with a file that exists (the caller
    ///   sets it aside and starts over: records repeat, none is lost).
    static func load(_ path: String, fs: any FileSystem) throws -> ConsumerPositions? {
        guard fs.fileExists(path) else { return nil }
        let bytes = try fs.readWholeFile(path)
        let positions: ConsumerPositions
        do {
            positions = try JSONDecoder().decode(ConsumerPositions.self, from: Data(bytes))
        } catch {
            throw EngineError(.internalFailure, "\(path) is not a consumer position file (\(error))")
        }
        guard let crc = positions.crc32c, crc == (try positions.checksum()) else {
            throw EngineError(.internalFailure, "\(path) fails its checksum (damaged on disk)")
        }
        guard positions.format == currentFormat else {
            throw EngineError(.internalFailure, "\(path) has format \(positions.format); this sluiced reads format \(currentFormat)")
        }
        for key in positions.shards.keys where ShardIndexText.parse(key) == nil {
            throw EngineError(.internalFailure, "\(path) names shard \"\(key)\", which is not a shard index")
        }
        return positions
    }

    /// The bytes the checksum covers: the file as written without `crc32c`.
    private static func encoded(_ positions: ConsumerPositions) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(positions))
    }

    func checksum() throws -> UInt32 {
        var bare = self
        bare.crc32c = nil
        return CRC32C.checksum(try Self.encoded(bare))
    }

    /// Replaces the file atomically (temp file, fsync, rename, directory fsync).
    func save(_ path: String, fs: any FileSystem) throws {
        var sealed = self
        sealed.crc32c = try checksum()
        let directory = FileSystemPath.parent(path)
        if !fs.isDirectory(directory) {
            try fs.createDirectories(directory)
            // The new directory's own entry must survive a power loss too.
            try fs.syncDirectory(FileSystemPath.parent(directory))
        }
        try fs.writeAtomically(path, try Self.encoded(sealed))
    }
}

/// Shard indexes as the position file writes them: 1–9 decimal digits, nothing else.
enum ShardIndexText {
    static func parse(_ text: String) -> Int? {
        guard (1...9).contains(text.utf8.count), text.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return Int(text)
    }
}
