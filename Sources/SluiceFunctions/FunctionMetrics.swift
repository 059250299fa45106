import Metrics
import Synchronization

/// Lambda's metric names per function (dimension `function_name`), plus the event source
/// mapping's counts, and the same figures kept for `sluice status`.
final class FunctionMetrics: Sendable {
    let invocations: Counter
    let errors: Counter
    let throttles: Counter
    let duration: Timer
    let iteratorAge: Gauge
    let concurrent: Gauge
    let filteredOut: Counter
    let dropped: Counter
    let onFailureDelivered: Counter
    let expired: Counter
    private let counts = Mutex(Counts())

    struct Counts: Sendable {
        var invocations: UInt64 = 0
        var errors: UInt64 = 0
        var throttles: UInt64 = 0
        var filteredOut: UInt64 = 0
        var dropped: UInt64 = 0
        var expired: UInt64 = 0
        var succeeded: UInt64 = 0
        var running = 0
        var lastError: String?
        var lastErrorMillis: Int64?
    }

    init(function: String) {
        let dimensions = [("function_name", function)]
        invocations = Counter(label: "Invocations", dimensions: dimensions)
        errors = Counter(label: "Errors", dimensions: dimensions)
        throttles = Counter(label: "Throttles", dimensions: dimensions)
        duration = Timer(label: "Duration", dimensions: dimensions, preferredDisplayUnit: .milliseconds)
        iteratorAge = Gauge(label: "IteratorAge", dimensions: dimensions)
        concurrent = Gauge(label: "ConcurrentExecutions", dimensions: dimensions)
        filteredOut = Counter(label: "FilteredOutEventCount", dimensions: dimensions)
        dropped = Counter(label: "DroppedEventCount", dimensions: dimensions)
        onFailureDelivered = Counter(label: "OnFailureDestinationDeliveredEventCount", dimensions: dimensions)
        expired = Counter(label: "ExpiredEventCount", dimensions: dimensions)
    }

    var snapshot: Counts { counts.withLock { $0 } }

    func started() {
        invocations.increment()
        let running = counts.withLock { c -> Int in
            c.invocations += 1
            c.running += 1
            return c.running
        }
        concurrent.record(running)
    }

    func ended(nanoseconds: Int64, error: String?, at millis: Int64) {
        duration.recordNanoseconds(nanoseconds)
        if error != nil { errors.increment() }
        let running = counts.withLock { c -> Int in
            c.running -= 1
            if let error {
                c.errors += 1
                c.lastError = error
                c.lastErrorMillis = millis
            }
            return c.running
        }
        concurrent.record(running)
    }

    func throttled() {
        throttles.increment()
        counts.withLock { $0.throttles += 1 }
    }

    func filtered(_ count: Int) {
        guard count > 0 else { return }
        filteredOut.increment(by: count)
        counts.withLock { $0.filteredOut += UInt64(count) }
    }

    func succeeded(_ count: Int) {
        counts.withLock { $0.succeeded += UInt64(count) }
    }

    /// Records given up on (retries, age), described to on_failure when there is one.
    func gaveUp(_ count: Int, described: Bool) {
        dropped.increment(by: count)
        if described { onFailureDelivered.increment(by: count) }
        counts.withLock { $0.dropped += UInt64(count) }
    }

    /// Records the stream deleted (retention) while they waited to be retried.
    func expiredRecords(_ count: Int) {
        expired.increment(by: count)
        counts.withLock { $0.expired += UInt64(count) }
    }
}
