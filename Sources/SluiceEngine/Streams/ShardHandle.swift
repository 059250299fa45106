import Metrics
import SluiceStorage
import Synchronization

/// A shard at run time: its log, its write limiter and its metrics. The shard's metadata
/// (range, parents, open or closed) lives in the stream's metadata.
final class ShardHandle: Sendable {
    let index: Int
    let hashKeyRange: ClosedRange<UInt128>
    let log: ShardLog
    let limiter: ShardWriteLimiter
    let readLimiter: ShardReadLimiter
    let metrics: ShardMetrics
    let window: WriteWindow

    init(index: Int, hashKeyRange: ClosedRange<UInt128>, log: ShardLog, limiter: ShardWriteLimiter, readLimiter: ShardReadLimiter, stream: String, now: UInt64) {
        self.index = index
        self.hashKeyRange = hashKeyRange
        self.log = log
        self.limiter = limiter
        self.readLimiter = readLimiter
        self.id = ShardID.string(index)
        self.metrics = ShardMetrics(stream: stream, shard: id)
        self.window = WriteWindow(now: now)
    }

    let id: String

    /// Readers waiting for this shard's next append (enhanced fan-out subscriptions).
    private let appendWatchers = Mutex<[ObjectIdentifier: WakeSignal]>([:])

    func watchAppends(_ signal: WakeSignal) { appendWatchers.withLock { $0[ObjectIdentifier(signal)] = signal } }
    func unwatchAppends(_ signal: WakeSignal) { _ = appendWatchers.withLock { $0.removeValue(forKey: ObjectIdentifier(signal)) } }

    /// Called once appended records are durable and readable (on every append: no copy
    /// while nobody watches).
    func notifyAppend() {
        let watchers = appendWatchers.withLock { $0.isEmpty ? [] : Array($0.values) }
        for watcher in watchers { watcher.signal() }
    }
}

