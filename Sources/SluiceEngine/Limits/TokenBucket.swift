/// A token bucket: `rate` tokens a second, holding at most `capacity` (one second's worth
/// by default, so a shard can burst to its per-second limit but never beyond it).
///
/// Not synchronized: each owner guards its buckets with its own lock. Time comes in as a
/// monotonic nanosecond reading, so tests drive it with a manual clock.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let capacity: Double
    private var tokens: Double
    private var updatedAt: UInt64

    public init(rate: Double, capacity: Double? = nil, now: UInt64) {
        self.rate = rate
        self.capacity = capacity ?? rate
        self.tokens = self.capacity
        self.updatedAt = now
    }

    private mutating func refill(_ now: UInt64) {
        guard now > updatedAt else { return }
        tokens = min(capacity, tokens + Double(now - updatedAt) / 1e9 * rate)
        updatedAt = now
    }

    /// Tokens available right now.
    public mutating func available(now: UInt64) -> Double {
        refill(now)
        return tokens
    }

    /// Refill sums many small floating-point steps; this much shortfall still counts as
    /// enough, so that exactly one second's worth is available after exactly one second.
    static let tolerance = 1e-6

    /// Takes `amount` tokens if they are all there; otherwise takes none.
    public mutating func take(_ amount: Double, now: UInt64) -> Bool {
        refill(now)
        guard tokens + Self.tolerance >= amount else { return false }
        tokens -= amount
        return true
    }

    /// Takes `amount` even if that leaves the bucket in debt (used when one unit is larger
    /// than the whole capacity and must still pass eventually).
    public mutating func force(_ amount: Double, now: UInt64) {
        refill(now)
        tokens -= amount
    }

    /// Nanoseconds until `amount` tokens will be available (0 when they already are).
    public mutating func wait(for amount: Double, now: UInt64) -> UInt64 {
        refill(now)
        let missing = min(amount, capacity) - tokens
        return missing <= Self.tolerance ? 0 : UInt64((missing / rate * 1e9).rounded(.up))
    }
}
