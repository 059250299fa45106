import CoreMetrics
import Crypto
import SluiceStorage

/// The engine's read side: shard iterators, GetRecords, one shard read as every reader
/// takes it (`ShardRead`), what a restarted producer asks of the log (`+ProducerRestart`) and the
/// durable consumers that exports and functions read through.
public final class StreamReader: Sendable {
    let context: EngineContext
    let catalog: StreamCatalog
    let iteratorKey: SymmetricKey

    init(context: EngineContext, catalog: StreamCatalog) throws {
        self.context = context
        self.catalog = catalog
        iteratorKey = try Self.loadIteratorKey(context.dataDirectory + "/engine.key", fs: context.fs)
    }

    /// The key that signs shard iterators; kept on disk so iterators survive a restart.
    private static func loadIteratorKey(_ path: String, fs: any FileSystem) throws -> SymmetricKey {
        if fs.fileExists(path) {
            if let problem = IteratorKeyFile.problem(path, fs: fs) { throw EngineError(.internalFailure, problem) }
            return SymmetricKey(data: try fs.readWholeFile(path))
        }
        let key = SymmetricKey(size: .bits256)
        try fs.writeAtomically(path, key.withUnsafeBytes { Array($0) }, mode: 0o600)
        return key
    }

    /// The stream a shard iterator was issued for, when the token is genuine (access
    /// control authorizes GetRecords by it).
    public func streamName(ofIterator token: String) -> String? {
        ShardIterator.decode(token, key: iteratorKey)?.streamName
    }

    /// GetShardIterator: a token for reading `shardId` from `start`.
    public func shardIterator(stream name: String, shardId: String, start: IteratorStart) throws -> String {
        let handle = try catalog.stream(name)
        guard let index = ShardID.index(shardId), let (meta, shard) = handle.shard(index) else {
            throw EngineError(.resourceNotFound, "Shard \(shardId) in stream \(name) under account \(context.accountId) does not exist")
        }
        let offset: UInt64
        switch start {
        case .trimHorizon:
            offset = meta.startingOffset
        case .latest:
            offset = shard.log.endOffset
        case .atSequenceNumber(let text), .afterSequenceNumber(let text):
            guard let sequence = SequenceNumber(text), sequence.shardIndex == index else {
                throw EngineError(.invalidArgument, "StartingSequenceNumber \(text) used in GetShardIterator on shard \(meta.id) in stream \(name) under account \(context.accountId) is invalid because it did not come from this stream.")
            }
            if case .afterSequenceNumber = start { offset = sequence.offset + 1 } else { offset = sequence.offset }
        case .atTimestamp(let millis):
            do { offset = try shard.log.offset(atTimestamp: millis) } catch {
                throw EngineError(.internalFailure, "\(error)")
            }
        }
        let iterator = ShardIterator(
            streamName: name, streamCreatedAt: handle.metadata.createdAtMillis,
            shardIndex: index, offset: offset, issuedAt: context.clock.nowMillis()
        )
        return iterator.token(key: iteratorKey)
    }

    /// GetRecords: up to `limit` records (and 10 MiB) from where the iterator points.
    public func getRecords(iterator token: String, limit: Int?) throws -> GetRecordsResult {
        let limit = limit ?? KinesisLimits.maxGetRecordsRecords
        guard (1...KinesisLimits.maxGetRecordsRecords).contains(limit) else {
            throw EngineError(.validation, "1 validation error detected: Value '\(limit)' at 'limit' failed to satisfy constraint: Member must have value \(limit < 1 ? "greater than or equal to 1" : "less than or equal to \(KinesisLimits.maxGetRecordsRecords)")")
        }
        guard let iterator = ShardIterator.decode(token, key: iteratorKey) else {
            throw EngineError(.invalidArgument, "Invalid ShardIterator.")
        }
        let now = context.clock.nowMillis()
        if now - iterator.issuedAt > KinesisLimits.iteratorLifetimeMillis {
            throw EngineError(.expiredIterator, "Iterator expired. The iterator was created at time \(iterator.issuedAt) while right now it is \(now) which is further in the future than the tolerated delay of \(KinesisLimits.iteratorLifetimeMillis) milliseconds.")
        }
        let handle = try catalog.stream(iterator.streamName)
        guard handle.metadata.createdAtMillis == iterator.streamCreatedAt, let (meta, shard) = handle.shard(iterator.shardIndex) else {
            throw EngineError(.resourceNotFound, "Shard \(ShardID.string(iterator.shardIndex)) in stream \(iterator.streamName) under account \(context.accountId) does not exist")
        }
        guard shard.readLimiter.admitCall() else {
            shard.metrics.readThrottled.increment()
            throw EngineError(.provisionedThroughputExceeded, "Rate exceeded for Shard - \(meta.id) in stream \(iterator.streamName) under account \(context.accountId).")
        }
        let read = try readShard(handle, meta: meta, shard: shard, from: iterator.offset, maxRecords: limit, maxBytes: KinesisLimits.maxGetRecordsBytes)
        shard.readLimiter.charge(bytes: read.bytes)
        shard.metrics.iteratorAge.record(read.iteratorAgeMillis)
        var next: String?
        if read.children == nil {
            var following = iterator
            following.offset = read.nextOffset
            following.issuedAt = now
            next = following.token(key: iteratorKey)
        }
        return GetRecordsResult(
            shardIndex: iterator.shardIndex, records: read.records, nextShardIterator: next,
            millisBehindLatest: read.millisBehindLatest, childShards: read.children ?? []
        )
    }

    func childShards(of index: Int, in metadata: StreamMetadata) -> [ChildShard] {
        metadata.shards.filter { $0.parentIndex == index || $0.adjacentParentIndex == index }.map { child in
            ChildShard(
                shardId: child.id,
                parentShards: [child.parentIndex, child.adjacentParentIndex].compactMap { $0 }.map(ShardID.string),
                hashKeyRange: child.hashKeyRange
            )
        }
    }
}
