import Logging
import Metrics
import SluiceEngine
import SluiceStorage
import Synchronization

/// Watches one stream's partition keys over a window and reports, in the log (rate
/// limited) and in metrics, keys that take more than a set share of their shard's
/// capacity, and key sets too small to reach every shard: both starve a stream of the
/// throughput its shard count promises.
final class HotKeyDetector: Sendable {
    struct Settings: Sendable {
        var window: Duration = .seconds(10)
        /// A key is hot above this share of one shard's byte or record limit.
        var hotSharePercent: Double = 50
        var logEvery: Duration = .seconds(60)
        /// Distinct keys tracked per window (memory bound); more only count as "many".
        var maxTrackedKeys = 10_000
    }

    private struct Usage {
        var bytes = 0
        var records = 0
        var shard: Int
    }

    /// Times are the injected clock's monotonic nanoseconds.
    private struct State {
        var windowStart: UInt64
        var keys: [String: Usage] = [:]
        var overflow = false
        var hot: [String] = []
        var distinct = 0
        var loggedHotAt: UInt64?
        var loggedCardinalityAt: UInt64?
    }

    let stream: String
    let settings: Settings
    let rates: ShardRateLimiter.Rates
    let time: any TimeSource
    let logger: Logger
    private let state: Mutex<State>
    private let hotGauge: Gauge
    private let distinctGauge: Gauge
    private let idleShardsGauge: Gauge

    init(stream: String, rates: ShardRateLimiter.Rates, settings: Settings = Settings(), time: any TimeSource = SystemTimeSource(), logger: Logger) {
        self.stream = stream
        self.time = time
        state = Mutex(State(windowStart: time.monotonicNanos()))
        self.rates = rates
        self.settings = settings
        self.logger = logger
        hotGauge = Gauge(label: "HotPartitionKeys", dimensions: [("stream", stream)])
        distinctGauge = Gauge(label: "DistinctPartitionKeys", dimensions: [("stream", stream)])
        idleShardsGauge = Gauge(label: "ShardsWithoutKeys", dimensions: [("stream", stream)])
    }

    /// Counts one batch of records of `key` routed to shard `shard`; closes the window when
    /// it is over, given the stream's open shard count then.
    func observe(key: String, shard: Int, bytes: Int, records: Int, openShards: Int) {
        let now = time.monotonicNanos()
        /// Time since `then` on the monotonic clock.
        func since(_ then: UInt64) -> Duration { .nanoseconds(Int64(clamping: now >= then ? now - then : 0)) }
        let findings = state.withLock { s -> (hot: [(String, Double)], distinct: Int, shardsUsed: Int, logHot: Bool, logCardinality: Bool)? in
            if s.keys[key] != nil || s.keys.count < settings.maxTrackedKeys {
                s.keys[key, default: Usage(shard: shard)].bytes += bytes
                s.keys[key, default: Usage(shard: shard)].records += records
            } else {
                s.overflow = true
            }
            guard since(s.windowStart) >= settings.window else { return nil }
            let seconds = since(s.windowStart) / .seconds(1)
            let byteCapacity = Double(rates.bytesPerSecond) * seconds
            let recordCapacity = Double(rates.recordsPerSecond) * seconds
            let hot = s.keys.compactMap { key, usage -> (String, Double)? in
                let share = max(Double(usage.bytes) / byteCapacity, Double(usage.records) / recordCapacity) * 100
                return share >= settings.hotSharePercent ? (key, share) : nil
            }.sorted { $0.1 > $1.1 }
            let overflowed = s.overflow
            let distinct = overflowed ? Int.max : s.keys.count
            let shardsUsed = Set(s.keys.values.map(\.shard)).count
            s.hot = hot.map(\.0)
            s.distinct = s.keys.count
            s.keys = [:]
            s.overflow = false
            s.windowStart = now
            let logHot = !hot.isEmpty && s.loggedHotAt.map { since($0) >= settings.logEvery } ?? true
            if logHot { s.loggedHotAt = now }
            let lowCardinality = !overflowed && shardsUsed < openShards && distinct > 0
            let logCardinality = lowCardinality && s.loggedCardinalityAt.map { since($0) >= settings.logEvery } ?? lowCardinality
            if logCardinality { s.loggedCardinalityAt = now }
            return (hot, distinct, shardsUsed, logHot, logCardinality)
        }
        guard let findings else { return }
        hotGauge.record(findings.hot.count)
        distinctGauge.record(findings.distinct == .max ? settings.maxTrackedKeys : findings.distinct)
        idleShardsGauge.record(max(0, openShards - findings.shardsUsed))
        if findings.logHot {
            logger.warning("hot partition keys: one key takes most of a shard's limit, so that shard throttles while others idle; salt the key (partition_key_buckets) or key by something finer", metadata: [
                "stream": "\(stream)",
                "keys": "\(findings.hot.prefix(5).map { "\($0.0) (\(Int($0.1)) % of a shard)" }.joined(separator: ", "))",
            ])
        }
        if findings.logCardinality {
            logger.warning("low partition-key cardinality: the keys seen reach fewer shards than the stream has, so some shards get no records; use a key with more distinct values", metadata: [
                "stream": "\(stream)", "distinct_keys": "\(findings.distinct)", "shards_used": "\(findings.shardsUsed)", "open_shards": "\(openShards)",
            ])
        }
    }

    var hotKeys: [String] { state.withLock { $0.hot } }
    var distinctKeys: Int { state.withLock { $0.distinct } }
}
