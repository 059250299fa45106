import SluiceStorage
import Synchronization

/// Enhanced fan-out: registered consumers, each reading a shard through its own
/// subscription with its own 2 MiB/s, apart from the polling consumers' shared limit.
extension StreamEngine {
    public static let maxConsumersPerStream = 20
    public static let consumerBytesPerSecond = 2 << 20

    public func consumerARN(stream: String, consumer: ConsumerMetadata) -> String {
        "\(arn(of: stream))/consumer/\(consumer.name):\(consumer.createdAtMillis / 1000)"
    }

    /// The stream and consumer a consumer ARN names.
    public func resolveConsumer(arn: String) throws -> (stream: String, consumer: ConsumerMetadata) {
        guard let range = arn.range(of: "/consumer/") else {
            throw EngineError(.invalidArgument, "ConsumerARN \(arn) is not a Kinesis consumer ARN.")
        }
        let stream = try resolveStreamName(name: nil, arn: String(arn[..<range.lowerBound]))
        let rest = arn[range.upperBound...]
        let name = String(rest.split(separator: ":").first ?? "")
        guard let consumer = (try metadata(of: stream).consumers ?? []).first(where: { consumerARN(stream: stream, consumer: $0) == arn || $0.name == name && !rest.contains(":") }) else {
            throw EngineError(.resourceNotFound, "Consumer \(arn) under account \(options.accountId) not found.")
        }
        return (stream, consumer)
    }

    public func registerConsumer(stream name: String, consumerName: String) throws -> ConsumerMetadata {
        guard (1...128).contains(consumerName.count), consumerName.allSatisfy({ $0.isLetter || $0.isNumber || "_.-".contains($0) }) else {
            throw EngineError(.validation, "1 validation error detected: Value '\(consumerName)' at 'consumerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
        }
        let consumer = ConsumerMetadata(name: consumerName, createdAtMillis: clock.nowMillis())
        try updateMetadata(name) { m in
            var consumers = m.consumers ?? []
            if consumers.contains(where: { $0.name == consumerName }) {
                throw EngineError(.resourceInUse, "Consumer \(consumerName) under stream \(name) under account \(options.accountId) already exists.")
            }
            guard consumers.count < Self.maxConsumersPerStream else {
                throw EngineError(.limitExceeded, "Stream \(name) under account \(options.accountId) already has \(Self.maxConsumersPerStream) registered consumers.")
            }
            consumers.append(consumer)
            m.consumers = consumers
        }
        return consumer
    }

    public func deregisterConsumer(stream name: String, consumerName: String) throws {
        try updateMetadata(name) { m in
            guard (m.consumers ?? []).contains(where: { $0.name == consumerName }) else {
                throw EngineError(.resourceNotFound, "Consumer \(consumerName) under stream \(name) under account \(options.accountId) not found.")
            }
            m.consumers?.removeAll { $0.name == consumerName }
        }
    }

    /// Opens a subscription of `consumer` to one shard.
    /// - Throws: ResourceInUseException while the consumer already has one on that shard.
    public func subscribe(stream name: String, consumer: ConsumerMetadata, shardId: String, start: IteratorStart) throws -> ShardSubscription {
        let token = try shardIterator(stream: name, shardId: shardId, start: start)
        let iterator = ShardIterator.decode(token, key: iteratorKey)!
        let key = "\(name)|\(consumer.name)|\(iterator.shardIndex)"
        let inserted = activeSubscriptions.withLock { $0.insert(key).inserted }
        guard inserted else {
            throw EngineError(.resourceInUse, "Another active subscription exists for this consumer: \(consumerARN(stream: name, consumer: consumer)) on shard \(shardId).")
        }
        let handle = try stream(name)
        return ShardSubscription(engine: self, stream: handle, shardIndex: iterator.shardIndex, offset: iterator.offset, key: key)
    }
}

/// One consumer's subscription to one shard: reads pushed at the consumer's own rate.
public final class ShardSubscription: Sendable {
    let engine: StreamEngine
    let stream: StreamHandle
    public let shardIndex: Int
    let key: String
    let state: Mutex<(offset: UInt64, bucket: TokenBucket, closed: Bool)>
    /// Woken by the shard on every append, so a caught-up subscription pushes new
    /// records as soon as they are durable instead of at its next poll.
    private let appended: AppendWatch?

    init(engine: StreamEngine, stream: StreamHandle, shardIndex: Int, offset: UInt64, key: String) {
        self.engine = engine
        self.stream = stream
        self.shardIndex = shardIndex
        self.key = key
        let now = engine.clock.monotonicNanos()
        state = Mutex((offset, TokenBucket(rate: Double(StreamEngine.consumerBytesPerSecond), now: now), false))
        appended = stream.shard(shardIndex).map { AppendWatch($0.1) }
    }

    /// Returns when the shard had an append since the last call (or this was created),
    /// or after `timeout`.
    public func waitForRecords(timeout: Duration) async {
        if let appended { await appended.wait(timeout: timeout) } else { try? await Task.sleep(for: timeout) }
    }

    /// What one push carries.
    public struct Batch: Sendable {
        public var records: [StoredRecord]
        /// The sequence number to resume after (the last record delivered, or the one
        /// before the next to deliver); nil while nothing at all precedes the position.
        public var continuationSequenceNumber: String?
        public var millisBehindLatest: Int64
        /// Set once a closed shard has been delivered to its end: the subscription is over.
        public var childShards: [ChildShard]?
    }

    /// The next records, at most what the consumer's 2 MiB/s allows now (always at least
    /// one record when any is there and no bytes are owed).
    public func next(maxRecords: Int = 10_000) throws -> Batch {
        guard let (meta, shard) = stream.shard(shardIndex) else {
            throw EngineError(.resourceNotFound, "Shard \(ShardID.string(shardIndex)) no longer exists.")
        }
        let now = engine.clock.monotonicNanos()
        let (offset, allowance) = state.withLock { s -> (UInt64, Int) in
            let available = s.bucket.available(now: now)
            return (s.offset, available <= 0 ? 0 : Int(available))
        }
        let read = try engine.readShard(stream, meta: meta, shard: shard, from: offset, maxRecords: maxRecords, maxBytes: allowance)
        state.withLock {
            $0.offset = read.nextOffset
            $0.bucket.force(Double(read.bytes), now: now)
        }
        let continuation = read.nextOffset > meta.startingOffset
            ? SequenceNumber(shardIndex: shardIndex, offset: read.nextOffset - 1).description : nil
        return Batch(records: read.records, continuationSequenceNumber: continuation, millisBehindLatest: read.millisBehindLatest, childShards: read.children)
    }

    /// Ends the subscription; the consumer may subscribe to the shard again.
    public func close() {
        let wasOpen = state.withLock { s -> Bool in
            defer { s.closed = true }
            return !s.closed
        }
        if wasOpen {
            _ = engine.activeSubscriptions.withLock { $0.remove(key) }
            appended?.close()
        }
    }
}
