import SluiceStorage

/// A shard at run time: its log and its write limiter. The shard's metadata (range,
/// parents, open or closed) lives in the stream's metadata.
final class ShardHandle: Sendable {
    let index: Int
    let hashKeyRange: ClosedRange<UInt128>
    let log: ShardLog
    let limiter: ShardWriteLimiter

    init(index: Int, hashKeyRange: ClosedRange<UInt128>, log: ShardLog, limiter: ShardWriteLimiter) {
        self.index = index
        self.hashKeyRange = hashKeyRange
        self.log = log
        self.limiter = limiter
    }

    var id: String { ShardID.string(index) }
}
