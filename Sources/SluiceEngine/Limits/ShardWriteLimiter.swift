import Synchronization

/// A shard's write limits, as Kinesis enforces them: bytes and records per second, both
/// with one second of burst. A record is admitted only if both buckets can pay for it.
public final class ShardWriteLimiter: Sendable {
    private let buckets: Mutex<(bytes: TokenBucket, records: TokenBucket)>
    private let clock: any TimeSource
    public let enabled: Bool

    public init(bytesPerSecond: Int, recordsPerSecond: Int, enabled: Bool, clock: any TimeSource) {
        let now = clock.monotonicNanos()
        self.clock = clock
        self.enabled = enabled
        buckets = Mutex((
            TokenBucket(rate: Double(bytesPerSecond), now: now),
            TokenBucket(rate: Double(recordsPerSecond), now: now)
        ))
    }

    /// Admits each record whose size fits, in order; returns which were admitted.
    public func admit(sizes: [Int]) -> [Bool] {
        guard enabled else { return Array(repeating: true, count: sizes.count) }
        let now = clock.monotonicNanos()
        return buckets.withLock { b in
            sizes.map { size in
                guard b.records.available(now: now) >= 1, b.bytes.available(now: now) >= Double(size) else { return false }
                _ = b.records.take(1, now: now)
                _ = b.bytes.take(Double(size), now: now)
                return true
            }
        }
    }
}

import SluiceStorage
