#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where the storage and engine modules read the time: injected so that retention,
/// segment age, rate limits and iterator expiry are tested without sleeping.
public protocol TimeSource: Sendable {
    /// Wall-clock time in milliseconds since the Unix epoch (arrival timestamps, retention).
    func nowMillis() -> Int64
    /// A monotonic reading in nanoseconds (rates and intervals; never goes backwards).
    func monotonicNanos() -> UInt64
}

/// The real clocks: CLOCK_REALTIME and CLOCK_MONOTONIC.
public struct SystemTimeSource: TimeSource {
    public init() {}

    public func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// A clock that moves only when a test says so; wall and monotonic time move together.
public final class ManualTimeSource: TimeSource {
    private let state: Mutex<(wall: Int64, mono: UInt64)>

    public init(nowMillis: Int64 = 1_700_000_000_000) {
        state = Mutex((nowMillis, 1_000_000_000))
    }

    public func nowMillis() -> Int64 { state.withLock { $0.wall } }
    public func monotonicNanos() -> UInt64 { state.withLock { $0.mono } }

    /// Moves both clocks forward; a negative step moves only the wall clock back (as an
    /// NTP correction would), never the monotonic one.
    public func advance(millis: Int64) {
        state.withLock {
            $0.wall += millis
            if millis > 0 { $0.mono += UInt64(millis) * 1_000_000 }
        }
    }
}

/// A reading of a `TimeSource`'s monotonic clock: intervals (poll, rotation and flush
/// timers, retry times) measured on the injected clock rather than `ContinuousClock`, so a
/// `ManualTimeSource` moves them in tests.
public struct MonotonicInstant: Comparable, Hashable, Sendable {
    public var nanos: UInt64

    public init(nanos: UInt64) { self.nanos = nanos }

    public static func < (a: MonotonicInstant, b: MonotonicInstant) -> Bool { a.nanos < b.nanos }

    /// The time from `b` to `a` (negative when `a` is earlier).
    public static func - (a: MonotonicInstant, b: MonotonicInstant) -> Duration {
        a.nanos >= b.nanos
            ? .nanoseconds(Int64(clamping: a.nanos - b.nanos))
            : .zero - .nanoseconds(Int64(clamping: b.nanos - a.nanos))
    }

    /// `self` moved by `duration`, saturating at the clock's range.
    public static func + (a: MonotonicInstant, duration: Duration) -> MonotonicInstant {
        let nanos = duration.components.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let total = nanos.overflow ? (duration < .zero ? Int64.min : Int64.max)
            : nanos.partialValue.addingReportingOverflow(duration.components.attoseconds / 1_000_000_000).partialValue
        if total >= 0 {
            let sum = a.nanos.addingReportingOverflow(UInt64(total))
            return MonotonicInstant(nanos: sum.overflow ? .max : sum.partialValue)
        }
        let magnitude = total == .min ? UInt64(Int64.max) + 1 : UInt64(-total)
        return MonotonicInstant(nanos: a.nanos >= magnitude ? a.nanos - magnitude : 0)
    }

    public static func - (a: MonotonicInstant, duration: Duration) -> MonotonicInstant {
        a + (.zero - duration)
    }
}

extension TimeSource {
    /// The monotonic clock now, as an instant.
    public func monotonicNow() -> MonotonicInstant { MonotonicInstant(nanos: monotonicNanos()) }
}
