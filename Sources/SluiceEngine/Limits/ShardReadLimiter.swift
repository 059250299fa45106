import SluiceStorage
import Synchronization

/// A shard's read limits for polling consumers, as Kinesis enforces them: 5 GetRecords
/// calls a second and 2 MiB a second, shared by every polling consumer of the shard. A
/// call may return up to 10 MiB; the bytes it read are then owed, and calls are refused
/// until the byte bucket has refilled.
public final class ShardReadLimiter: Sendable {
    private let buckets: Mutex<(calls: TokenBucket, bytes: TokenBucket)>
    private let clock: any TimeSource
    public let enabled: Bool

    public init(callsPerSecond: Int, bytesPerSecond: Int, enabled: Bool, clock: any TimeSource) {
        let now = clock.monotonicNanos()
        self.clock = clock
        self.enabled = enabled
        buckets = Mutex((TokenBucket(rate: Double(callsPerSecond), now: now), TokenBucket(rate: Double(bytesPerSecond), now: now)))
    }

    /// Admits one call if a call token is free and no bytes are owed.
    public func admitCall() -> Bool {
        guard enabled else { return true }
        let now = clock.monotonicNanos()
        return buckets.withLock { b in
            guard b.bytes.available(now: now) + TokenBucket.tolerance >= 0 else { return false }
            return b.calls.take(1, now: now)
        }
    }

    /// Charges the bytes a call returned.
    public func charge(bytes: Int) {
        guard enabled, bytes > 0 else { return }
        let now = clock.monotonicNanos()
        buckets.withLock { $0.bytes.force(Double(bytes), now: now) }
    }
}
