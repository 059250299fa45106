import SluiceStorage
import Synchronization

/// One shard's meter in the gateway: bytes and records per second, counted over a sliding
/// window.
///
/// Kinesis counts a shard's limit per second. A token bucket cannot match that exactly:
/// holding a full second of tokens it lets twice the limit through one window (a full
/// bucket plus a second of refill); holding little, it wastes the tokens that arrive
/// while a slow fsync holds the shard, and the shard runs below its limit. So the meter
/// remembers what it admitted in the last `window` and admits a record only if the window
/// then still holds at most the limit: a token spent comes back one window later. Bursts
/// up to the limit pass at once and no one-second window ever carries more than it.
///
/// Windows are judged by the arrival timestamps the engine gives, a little after
/// admission. So the owner calls `settle()` once the records are stored (before it admits
/// more): their tokens then count from that moment, which is no earlier than their
/// arrival, and any two records less than a second apart by arrival count against each
/// other. The window is 5 ms longer than a second for the timestamps' millisecond rounding.
public final class ShardRateLimiter: Sendable {
    public struct Rates: Sendable, Equatable {
        public var bytesPerSecond: Int
        public var recordsPerSecond: Int

        public init(bytesPerSecond: Int = 1 << 20, recordsPerSecond: Int = 1_000) {
            self.bytesPerSecond = bytesPerSecond
            self.recordsPerSecond = recordsPerSecond
        }
    }

    /// The span the limits apply to.
    public static let windowNanos: UInt64 = 1_005_000_000

    private struct Admission {
        var at: UInt64
        var records: Int
        var bytes: Int
        var ticket: UInt64
    }

    private struct Window {
        var admissions: [Admission] = []
        /// Index of the oldest admission still inside the window (the array is compacted
        /// now and then instead of shifting on every expiry).
        var start = 0
        var records = 0
        var bytes = 0
        var lastTicket: UInt64 = 0

        mutating func expire(now: UInt64) {
            while start < admissions.count, admissions[start].at + ShardRateLimiter.windowNanos <= now {
                records -= admissions[start].records
                bytes -= admissions[start].bytes
                start += 1
            }
            if start > 1024, start * 2 > admissions.count {
                admissions.removeFirst(start)
                start = 0
            }
        }
    }

    public let rates: Rates
    private let window = Mutex(Window())
    private let clock: any TimeSource

    public init(rates: Rates, clock: any TimeSource = SystemTimeSource()) {
        self.rates = rates
        self.clock = clock
    }

    /// Counts records stored before this meter existed — the shard's last second before
    /// sluiced started again — as if it had admitted them when they arrived, so the first
    /// window after a restart holds them too. Call before the first admission.
    public func seed(_ recent: RecentArrivals) {
        let now = clock.monotonicNanos()
        window.withLock { w in
            for arrival in recent.arrivals.sorted(by: { $0.millis < $1.millis }) {
                // Arrival times come from files: no arithmetic on them may trap.
                let (ageMillis, overflow) = recent.nowMillis.subtractingReportingOverflow(arrival.millis)
                guard !overflow, ageMillis < Int64(Self.windowNanos / 1_000_000) else { continue }
                let ageNanos = UInt64(max(0, ageMillis)) * 1_000_000
                let at = now > ageNanos ? now - ageNanos : 0
                // A record is at most a frame (16 MiB), whatever a damaged size says.
                let bytes = min(max(arrival.bytes, 0), 1 << 24)
                if let last = w.admissions.last, last.at == at {
                    w.admissions[w.admissions.count - 1].records += 1
                    w.admissions[w.admissions.count - 1].bytes += bytes
                } else {
                    w.lastTicket += 1
                    w.admissions.append(Admission(at: at, records: 1, bytes: bytes, ticket: w.lastTicket))
                }
                w.records += 1
                w.bytes += bytes
            }
        }
    }

    /// Whether one more record of `size` fits beside what the window holds. A record
    /// larger than the byte limit fits an empty window, so no record can never pass.
    private func fits(records: Int, bytes: Int, size: Int) -> Bool {
        records + 1 <= rates.recordsPerSecond && (bytes + size <= rates.bytesPerSecond || bytes == 0)
    }

    /// Admits records in order while they fit; returns how many.
    public func admit(sizes: some Collection<Int>) -> Int {
        admitWithTicket(sizes: sizes).admitted
    }

    /// Admits as `admit` does and names the admission, for `settle(ticket:)` when several
    /// tasks admit to one limiter at once (an export's local shards sharing a remote shard).
    public func admitWithTicket(sizes: some Collection<Int>) -> (admitted: Int, ticket: UInt64) {
        let now = clock.monotonicNanos()
        return window.withLock { w in
            w.expire(now: now)
            var records = w.records
            var bytes = w.bytes
            var admitted = 0
            for size in sizes {
                guard fits(records: records, bytes: bytes, size: size) else { break }
                records += 1
                bytes += size
                admitted += 1
            }
            guard admitted > 0 else { return (0, 0) }
            w.lastTicket += 1
            w.admissions.append(Admission(at: now, records: records - w.records, bytes: bytes - w.bytes, ticket: w.lastTicket))
            w.records = records
            w.bytes = bytes
            return (admitted, w.lastTicket)
        }
    }

    /// Marks the admission `ticket` as stored now, moving it behind admissions stored
    /// earlier so that the list stays in the order its tokens come back.
    public func settle(ticket: UInt64) {
        let now = clock.monotonicNanos()
        window.withLock { w in
            guard var k = w.admissions[w.start...].lastIndex(where: { $0.ticket == ticket }) else { return }
            w.admissions[k].at = max(w.admissions[k].at, now)
            while k + 1 < w.admissions.count, w.admissions[k + 1].at < w.admissions[k].at {
                w.admissions.swapAt(k, k + 1)
                k += 1
            }
        }
    }

    /// Marks the latest admission as stored now: its tokens come back one window from
    /// now, not from when it was admitted (see the type's comment).
    public func settle() {
        let now = clock.monotonicNanos()
        window.withLock { w in
            guard w.start < w.admissions.count else { return }
            w.admissions[w.admissions.count - 1].at = max(w.admissions[w.admissions.count - 1].at, now)
        }
    }

    /// How long until a record of `size` bytes would fit.
    public func delay(forSize size: Int) -> Duration {
        let now = clock.monotonicNanos()
        return window.withLock { w in
            w.expire(now: now)
            var records = w.records
            var bytes = w.bytes
            var k = w.start
            while !fits(records: records, bytes: bytes, size: size), k < w.admissions.count {
                records -= w.admissions[k].records
                bytes -= w.admissions[k].bytes
                if fits(records: records, bytes: bytes, size: size) {
                    return .nanoseconds(Int64(w.admissions[k].at + Self.windowNanos - now))
                }
                k += 1
            }
            return .zero
        }
    }
}
