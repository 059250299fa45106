import Synchronization

/// A shard's write limits, as Kinesis enforces them: bytes and records per second, both
/// with one second of burst. A record is admitted only if both buckets can pay for it.
public final class ShardWriteLimiter: Sendable {
    private let buckets: Mutex<(bytes: TokenBucket, records: TokenBucket, enabled: Bool)>
    private let clock: any TimeSource

    public init(bytesPerSecond: Int, recordsPerSecond: Int, enabled: Bool, clock: any TimeSource) {
        let now = clock.monotonicNanos()
        self.clock = clock
        buckets = Mutex((
            TokenBucket(rate: Double(bytesPerSecond), now: now),
            TokenBucket(rate: Double(recordsPerSecond), now: now),
            enabled
        ))
    }

    public var enabled: Bool { buckets.withLock { $0.enabled } }

    /// New limits (a config reload); the buckets start full at the new rates.
    public func update(bytesPerSecond: Int, recordsPerSecond: Int, enabled: Bool) {
        let now = clock.monotonicNanos()
        buckets.withLock {
            $0 = (TokenBucket(rate: Double(bytesPerSecond), now: now), TokenBucket(rate: Double(recordsPerSecond), now: now), enabled)
        }
    }

    /// Admits records in order while both buckets can pay; returns how many were
    /// admitted. Once one record is refused so are all after it, so what a shard accepts
    /// from one request is always a prefix and a producer that resends the rest keeps
    /// its per-key order.
    public func admit(sizes: [Int]) -> Int {
        let now = clock.monotonicNanos()
        return buckets.withLock { b in
            guard b.enabled else { return sizes.count }
            var admitted = 0
            for size in sizes {
                guard b.records.available(now: now) + TokenBucket.tolerance >= 1,
                      b.bytes.available(now: now) + TokenBucket.tolerance >= Double(size) else { break }
                _ = b.records.take(1, now: now)
                _ = b.bytes.take(Double(size), now: now)
                admitted += 1
            }
            return admitted
        }
    }
}

import SluiceStorage
