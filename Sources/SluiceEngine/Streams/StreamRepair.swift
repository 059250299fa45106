import FoundationEssentials
import SluiceStorage

/// `sluice repair DATA_DIR`: rebuilds the `stream.json` of a quarantined stream from what
/// its shard directories prove, so its records are served again.
///
/// Each shard directory holds the shard's birth record (`shard.json`: index, hash-key
/// range, parents, creation time); a shard that another names as parent was closed when
/// that child was born (its end is then recovered from its log, as after any crash). The
/// newest segment header tells the key id new segments use. Retention, tags and consumers
/// are not on disk anywhere else: retention is set to the maximum, 8,760 h, so the repair
/// can never expire a record (set the real one with DecreaseStreamRetentionPeriod once the
/// stream is back). Shards written before birth records existed are rebuilt only when the
/// operator states the stream was never resharded (`evenSplit`: shards 0…n−1, even split).
public enum StreamRepair {
    public struct Result: Sendable {
        public var stream: String
        public var shards: Int
        public var encryptedUnder: String?
        /// Where the damaged metadata was moved, if there was one.
        public var movedAside: String?
    }

    /// - Throws: `EngineError` explaining why this stream cannot be rebuilt.
    public static func rebuild(directory: String, entry: String, evenSplit: Bool = false, fs: any FileSystem = PosixFileSystem(), now: Int64) throws -> Result {
        guard let name = PathComponent.decode(entry), StreamCatalog.nameProblem(name) == nil else {
            throw EngineError(.invalidArgument, "\(directory): the directory name does not encode a stream name; move it out of \(FileSystemPath.parent(directory))")
        }
        let shardNames = try fs.listDirectory(directory).filter { $0.hasPrefix("shardId-") && fs.isDirectory(directory + "/" + $0) }.sorted()
        let indexes = shardNames.compactMap(ShardID.index)
        guard !indexes.isEmpty, indexes.count == shardNames.count else {
            throw EngineError(.invalidArgument, "\(directory): no shard directories to rebuild from (found \(shardNames.joined(separator: ", ")))")
        }
        let births = zip(shardNames, indexes).map { ShardBirthRecord.read(shardDirectory: directory + "/" + $0, index: $1, fs: fs) }
        var createdAt = now
        var newest: (base: UInt64, header: SegmentHeader)?
        for shard in shardNames {
            for file in try fs.listDirectory(directory + "/" + shard) {
                guard let base = Segment.baseOffset(fileName: file) else { continue }
                let handle = try fs.openForReading(directory + "/" + shard + "/" + file)
                let bytes = try handle.read(count: 4096, at: 0)
                guard let header = try? SegmentHeader.decode(bytes) else { continue }
                createdAt = min(createdAt, header.createdAtMillis)
                if newest == nil || base >= newest!.base { newest = (base, header) }
            }
        }
        let keyId = try newest.flatMap { $0.header.isEncrypted ? try DataKeyEnvelope.decode($0.header.envelope).keyId : nil }
        var shards: [ShardMetadata]
        if births.allSatisfy({ $0 != nil }) {
            shards = births.compactMap { $0 }
            createdAt = min(createdAt, shards.map(\.createdAtMillis).min() ?? createdAt)
            for k in shards.indices {
                let children = shards.filter { $0.parentIndex == shards[k].index || $0.adjacentParentIndex == shards[k].index }
                shards[k].closedAtMillis = children.map(\.createdAtMillis).min()
            }
        } else if evenSplit, indexes == Array(0..<indexes.count) {
            shards = HashKey.evenRanges(count: indexes.count).enumerated().map { k, range in
                ShardMetadata(index: k, hashKeyStart: String(range.lowerBound), hashKeyEnd: String(range.upperBound),
                              startingOffset: 0, createdAtMillis: createdAt)
            }
        } else {
            let missing = zip(shardNames, births).filter { $0.1 == nil }.map(\.0)
            throw EngineError(.invalidArgument, "\(directory): \(missing.joined(separator: ", ")) have no shard.json (written by sluiced from this version on, at each start), so the hash-key ranges cannot be proven. If the stream was never resharded (shards 0…n−1 from its creation), run `sluice repair --even-split`; otherwise restore stream.json from a backup")
        }
        let metadata = StreamMetadata(
            name: name, createdAtMillis: createdAt, retentionHours: KinesisLimits.maxRetentionHours, status: "ACTIVE",
            mode: StreamEngine.CapacityMode.provisioned.rawValue, encryptionType: keyId == nil ? "NONE" : "KMS",
            keyId: keyId, tags: [:], shards: shards, enhancedMetrics: [], consumers: []
        )
        if let problem = metadata.problem {
            throw EngineError(.invalidArgument, "\(directory): the shards on disk do not make a consistent stream (\(problem)); restore stream.json from a backup")
        }
        let path = directory + "/stream.json"
        var movedAside: String?
        if fs.fileExists(path) {
            movedAside = path + ".damaged-\(now)"
            try fs.rename(path, to: movedAside!)
        }
        try StreamCatalog.writeMetadata(metadata, directory: directory, fs: fs)
        return Result(stream: name, shards: shards.count, encryptedUnder: keyId, movedAside: movedAside)
    }
}
