import SluiceStorage
import Synchronization

/// Opens a shard's run-time parts (its log, limiters, metrics) for the catalog at start and
/// on CreateStream, and for the resharder's children; holds the per-shard write limits new
/// shards get (a config reload changes them).
final class ShardFactory: Sendable {
    let context: EngineContext
    private let limits: Mutex<StreamEngine.WriteLimits>

    init(context: EngineContext) {
        self.context = context
        let options = context.options
        limits = Mutex(StreamEngine.WriteLimits(
            enabled: options.enforceWriteLimits, bytesPerSecond: options.shardWriteBytesPerSecond,
            recordsPerSecond: options.shardWriteRecordsPerSecond
        ))
    }

    /// The per-shard write limits in force.
    var writeLimits: StreamEngine.WriteLimits {
        get { limits.withLock { $0 } }
        set { limits.withLock { $0 = newValue } }
    }

    /// Opens (recovers) one shard's log and makes its limiters.
    func open(_ shard: ShardMetadata, of stream: StreamMetadata, streamDirectory: String) throws -> ShardHandle {
        let options = context.options
        let log = try ShardLog(
            directory: streamDirectory + "/" + shard.id, options: options.log,
            fileSystem: context.fs, clock: context.clock, keys: options.keys, journal: context.journal, logger: context.logger
        )
        try ShardBirthRecord.writeIfMissing(shard, shardDirectory: log.directory, fs: context.fs)
        do {
            try log.setEncryption(keyId: stream.encryptionType == "KMS" ? stream.keyId : nil)
        } catch let error as StorageError {
            throw EngineError(.kmsNotFound, "stream \(stream.name) is encrypted under key \(stream.keyId ?? "?"): \(error.message)")
        }
        let limits = writeLimits
        let limiter = ShardWriteLimiter(
            bytesPerSecond: limits.bytesPerSecond, recordsPerSecond: limits.recordsPerSecond,
            enabled: limits.enabled, clock: context.clock
        )
        let readLimiter = ShardReadLimiter(
            callsPerSecond: options.shardReadCallsPerSecond, bytesPerSecond: options.shardReadBytesPerSecond,
            enabled: options.enforceReadLimits, clock: context.clock
        )
        return ShardHandle(
            index: shard.index, hashKeyRange: shard.hashKeyRange, log: log, limiter: limiter, readLimiter: readLimiter,
            stream: stream.name, now: context.clock.monotonicNanos()
        )
    }

    /// Opens (recovers) the log of every shard `metadata` lists.
    func openStream(_ metadata: StreamMetadata, directory: String) throws -> StreamHandle {
        var shards: [Int: ShardHandle] = [:]
        for shard in metadata.shards {
            shards[shard.index] = try open(shard, of: metadata, streamDirectory: directory)
        }
        return StreamHandle(directory: directory, metadata: metadata, shards: shards)
    }
}
