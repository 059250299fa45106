import Metrics
import SluiceStorage

/// A shard at run time: its log, its write limiter and its metrics. The shard's metadata
/// (range, parents, open or closed) lives in the stream's metadata.
final class ShardHandle: Sendable {
    let index: Int
    let hashKeyRange: ClosedRange<UInt128>
    let log: ShardLog
    let limiter: ShardWriteLimiter
    let readLimiter: ShardReadLimiter
    let metrics: ShardMetrics
    let window: WriteWindow

    init(index: Int, hashKeyRange: ClosedRange<UInt128>, log: ShardLog, limiter: ShardWriteLimiter, readLimiter: ShardReadLimiter, stream: String, now: UInt64) {
        self.index = index
        self.hashKeyRange = hashKeyRange
        self.log = log
        self.limiter = limiter
        self.readLimiter = readLimiter
        self.id = ShardID.string(index)
        self.metrics = ShardMetrics(stream: stream, shard: id)
        self.window = WriteWindow(now: now)
    }

    let id: String
}

