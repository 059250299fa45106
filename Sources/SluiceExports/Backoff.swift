/// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
/// Jitter"): attempt n waits a random time up to min(cap, base × 2ⁿ), so retries of many
/// boxes after one outage spread out instead of arriving together.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .milliseconds(100), cap: Duration = .seconds(5)) {
        self.base = base
        self.cap = cap
    }

    /// The ceiling of attempt `attempt` (0 for the first retry).
    public func ceiling(attempt: Int) -> Duration {
        min(cap, base * (1 << min(max(attempt, 0), 30)))
    }

    /// A random wait in 0...ceiling(attempt).
    public func delay(attempt: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let nanos = ceiling(attempt: attempt) / .nanoseconds(1)
        return .nanoseconds(Int64.random(in: 0...max(1, Int64(nanos)), using: &random))
    }

    /// Sleeps the attempt's wait; throws CancellationError when the task is cancelled.
    public func sleep(attempt: Int) async throws {
        var random = SystemRandomNumberGenerator()
        try await Task.sleep(for: delay(attempt: attempt, using: &random))
    }
}
