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
