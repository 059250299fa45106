import SluiceStorage
import Synchronization

/// One consumer's subscription to one shard: reads pushed at the consumer's own rate.
public final class ShardSubscription: Sendable {
    let fanOut: FanOut
    let stream: StreamHandle
    public let shardIndex: Int
    let key: String
    let state: Mutex<(offset: UInt64, bucket: TokenBucket, closed: Bool)>
    /// Woken by the shard on every append, so a caught-up subscription pushes new
    /// records as soon as they are durable instead of at its next poll.
    private let appended: AppendWatch?

    init(fanOut: FanOut, stream: StreamHandle, shardIndex: Int, offset: UInt64, key: String) {
        self.fanOut = fanOut
        self.stream = stream
        self.shardIndex = shardIndex
        self.key = key
        let now = fanOut.context.clock.monotonicNanos()
        state = Mutex((offset, TokenBucket(rate: Double(FanOut.consumerBytesPerSecond), now: now), false))
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
        let now = fanOut.context.clock.monotonicNanos()
        let (offset, allowance) = state.withLock { s -> (UInt64, Int) in
            let available = s.bucket.available(now: now)
            return (s.offset, available <= 0 ? 0 : Int(available))
        }
        let read = try fanOut.reader.readShard(stream, meta: meta, shard: shard, from: offset, maxRecords: maxRecords, maxBytes: allowance)
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
            _ = fanOut.activeSubscriptions.withLock { $0.remove(key) }
            appended?.close()
        }
    }
}
