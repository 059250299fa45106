import SluiceEngine
import SluiceStorage
import Synchronization

/// One shard's meter in the gateway: a token bucket for bytes and one for records.
///
/// Kinesis counts a shard's limit over one second. A bucket that holds a full second of
/// tokens lets through up to twice the limit in a one-second window (a full bucket plus a
/// second of refill), so these buckets hold only `burst` of a second's tokens and refill
/// at `rate` of the limit: in any one-second window at most `burst + rate` (99.5 %) of the
/// limit passes, and at steady state the shard runs at 98 % of it. The last half percent
/// absorbs the milliseconds between admission here and the arrival timestamp the engine
/// gives, so windows measured by arrival time stay under the limit too.
public final class ShardRateLimiter: Sendable {
    public struct Rates: Sendable, Equatable {
        public var bytesPerSecond: Int
        public var recordsPerSecond: Int

        public init(bytesPerSecond: Int = 1 << 20, recordsPerSecond: Int = 1_000) {
            self.bytesPerSecond = bytesPerSecond
            self.recordsPerSecond = recordsPerSecond
        }
    }

    /// Share of a second's tokens a bucket holds.
    public static let burst = 0.015
    /// Share of the limit a bucket refills per second.
    public static let rate = 0.98

    private let buckets: Mutex<(bytes: TokenBucket, records: TokenBucket)>
    private let clock: any TimeSource

    public init(rates: Rates, clock: any TimeSource = SystemTimeSource()) {
        self.clock = clock
        let now = clock.monotonicNanos()
        func bucket(_ limit: Int) -> TokenBucket {
            // A limit under ~70/s cannot hold less than one whole record; it may pass one
            // record over in a window.
            TokenBucket(rate: Double(limit) * Self.rate, capacity: max(1, Double(limit) * Self.burst), now: now)
        }
        buckets = Mutex((bucket(rates.bytesPerSecond), bucket(rates.recordsPerSecond)))
    }

    /// Admits records in order while both buckets can pay; returns how many. A record
    /// larger than the byte bucket passes when the bucket is full and leaves it in debt,
    /// so no record is too big to ever pass.
    public func admit(sizes: some Collection<Int>) -> Int {
        let now = clock.monotonicNanos()
        return buckets.withLock { b in
            var admitted = 0
            for size in sizes {
                let bytes = Double(size)
                guard b.records.available(now: now) + 1e-6 >= 1 else { break }
                let available = b.bytes.available(now: now)
                if bytes <= b.bytes.capacity {
                    guard available + 1e-6 >= bytes else { break }
                } else {
                    guard available + 1e-6 >= b.bytes.capacity else { break }
                }
                b.records.force(1, now: now)
                b.bytes.force(bytes, now: now)
                admitted += 1
            }
            return admitted
        }
    }

    /// How long until a record of `size` bytes could be admitted.
    public func delay(forSize size: Int) -> Duration {
        let now = clock.monotonicNanos()
        let nanos = buckets.withLock { b in
            max(b.records.wait(for: 1, now: now), b.bytes.wait(for: Double(size), now: now))
        }
        return .nanoseconds(Int64(nanos))
    }

    /// Bytes the byte bucket holds now (a read-size hint for the drain).
    public var availableBytes: Int {
        let now = clock.monotonicNanos()
        return buckets.withLock { Int(max(0, $0.bytes.available(now: now))) }
    }
}
