import SluiceEngine
import SluiceStorage
import Synchronization

/// One shard's records between the reader and the lanes of a function
/// (`parallelization_factor` lanes; a partition key always goes to the same lane, so its
/// records run in order and never in two batches at once), and the bookkeeping of which
/// records are done, so the position moves only past records that are.
final class ShardWork: Sendable {
    /// What a lane is told to do next.
    enum Next {
        case batch([StoredRecord])
        /// The lane's tumbling window is over: its final invocation is due.
        case closeWindow
        case stop
    }

    private struct Lane {
        var queue: [StoredRecord] = []
        var head = 0
        var bytes = 0
        /// When the oldest queued record was queued (for the batching window).
        var since: ContinuousClock.Instant?
        var count: Int { queue.count - head }

        mutating func take(_ n: Int) -> [StoredRecord] {
            let taken = Array(queue[head..<(head + n)])
            head += n
            bytes -= taken.reduce(0) { $0 + $1.data.count }
            if head == queue.count {
                queue = []
                head = 0
            } else if head > 4096 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            since = count > 0 ? ContinuousClock.now : nil
            return taken
        }
    }

    private struct State {
        var lanes: [Lane]
        /// Offsets handed to lanes and not yet done, in order; `done` those completed
        /// out of order.
        var pending: [UInt64] = []
        var pendingHead = 0
        var done: Set<UInt64> = []
        /// Where reading goes on: every record before it was handed out or filtered.
        var readNext: UInt64
        /// What was last committed.
        var committed: UInt64
        /// The last batch read (its generation makes commits safe across rewinds).
        var template: ConsumerBatch?
        /// No more records come: lanes finish their queues (and windows) and stop.
        var closed = false
        /// Stop now: lanes finish the batch in flight only.
        var stopNow = false
        /// Unix millis of the latest read that found the shard caught up.
        var caughtUpAtMillis: Int64 = .min

        var queued: Int { lanes.reduce(0) { $0 + $1.count } }
        var queuedBytes: Int { lanes.reduce(0) { $0 + $1.bytes } }
        var lowWater: UInt64 { pendingHead < pending.count ? pending[pendingHead] : readNext }
    }

    private let state: Mutex<State>
    private let wakes: [WakeSignal]
    /// Signalled when lanes take records (the reader may read more).
    let spaceFreed = WakeSignal()
    let laneCount: Int

    init(lanes: Int, position: UInt64) {
        laneCount = lanes
        state = Mutex(State(lanes: Array(repeating: Lane(), count: lanes), readNext: position, committed: position))
        wakes = (0..<lanes).map { _ in WakeSignal() }
    }

    /// The lane of a partition key: FNV-1a of its bytes, stable across restarts.
    static func lane(of key: String, lanes: Int) -> Int {
        guard lanes > 1 else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return Int(hash % UInt64(lanes))
    }

    /// Records queued in lanes (not yet taken) and their data bytes: the reader's bound.
    var queued: (records: Int, bytes: Int) { state.withLock { ($0.queued, $0.queuedBytes) } }

    /// Hands a read batch's kept records to their lanes; everything before `batch.nextOffset`
    /// not kept is done (filtered out).
    func add(_ kept: [StoredRecord], readBatch batch: ConsumerBatch) {
        var template = batch
        template.records = []
        var touched = Set<Int>()
        state.withLock { s in
            for record in kept {
                let lane = Self.lane(of: record.partitionKey, lanes: laneCount)
                if s.lanes[lane].count == 0 { s.lanes[lane].since = ContinuousClock.now }
                s.lanes[lane].queue.append(record)
                s.lanes[lane].bytes += record.data.count
                s.pending.append(record.offset)
                touched.insert(lane)
            }
            s.readNext = batch.nextOffset
            s.template = template
        }
        for lane in touched { wakes[lane].signal() }
    }

    /// Every record handed out is done.
    var allDone: Bool { state.withLock { $0.pendingHead == $0.pending.count } }

    func caughtUp(at millis: Int64) {
        state.withLock { $0.caughtUpAtMillis = millis }
        for wake in wakes { wake.signal() }
    }

    /// No more records: lanes drain (`stopNow` false) or stop after their batch in flight.
    func close(stopNow: Bool) {
        state.withLock {
            $0.closed = true
            if stopNow { $0.stopNow = true }
        }
        for wake in wakes { wake.signal() }
    }

    /// Marks records done. - Returns: the batch to commit when the position moved.
    func complete(_ offsets: [UInt64]) -> ConsumerBatch? {
        state.withLock { s in
            for offset in offsets { s.done.insert(offset) }
            while s.pendingHead < s.pending.count, s.done.remove(s.pending[s.pendingHead]) != nil { s.pendingHead += 1 }
            if s.pendingHead == s.pending.count {
                s.pending = []
                s.pendingHead = 0
            } else if s.pendingHead > 65_536 && s.pendingHead * 2 > s.pending.count {
                s.pending.removeFirst(s.pendingHead)
                s.pendingHead = 0
            }
            let low = s.lowWater
            guard low > s.committed, var batch = s.template else { return nil }
            batch.nextOffset = low
            batch.finished = false
            return batch
        }
    }

    /// After `consumer.commit` of a batch from `complete`: what is durable now.
    func committed(_ offset: UInt64) {
        state.withLock { $0.committed = max($0.committed, offset) }
    }

    /// The lane's next step. Waits for records, for a batch to fill (`batchingWindow`),
    /// for the window's end; returns `.stop` once closed and drained (or at stop now).
    func next(
        lane: Int, batchSize: Int, maxBytes: Int, batchingWindow: Duration, eventSize: (StoredRecord) -> Int,
        window: BatchProcessor.Window?, windowMillis: Int64, clock: () -> Int64
    ) async -> Next {
        while true {
            if Task.isCancelled { return .stop }
            let decision: Next? = state.withLock { s in
                if s.stopNow { return .stop }
                let queue = s.lanes[lane]
                guard queue.count > 0 else {
                    if let window {
                        // The window is over once no record of it can still come: the shard
                        // ends, or time passed its end and a read after that found nothing.
                        if s.closed || (clock() >= window.endMillis && s.caughtUpAtMillis >= window.endMillis) { return .closeWindow }
                    }
                    return s.closed ? .stop : nil
                }
                let head = queue.queue[queue.head]
                let headWindow = windowMillis > 0 ? Self.windowStart(head.timestampMillis, windowMillis) : nil
                if let window, let headWindow, headWindow != window.startMillis { return .closeWindow }
                var n = 0, bytes = 0
                var full = false
                var k = queue.head
                while k < queue.queue.count, n < batchSize {
                    let record = queue.queue[k]
                    if let headWindow, Self.windowStart(record.timestampMillis, windowMillis) != headWindow {
                        full = true
                        break
                    }
                    let size = eventSize(record)
                    if n > 0 && bytes + size > maxBytes {
                        full = true
                        break
                    }
                    bytes += size
                    n += 1
                    k += 1
                }
                if n == batchSize { full = true }
                let waited = queue.since.map { ContinuousClock.now - $0 } ?? .zero
                guard full || s.closed || batchingWindow == .zero || waited >= batchingWindow else { return nil }
                return .batch(s.lanes[lane].take(n))
            }
            if let decision {
                if case .batch = decision { spaceFreed.signal() }
                return decision
            }
            // Nothing to do yet: wait for records, or for the batching window or the
            // tumbling window's end to come.
            var timeout: Duration = .seconds(1)
            if batchingWindow > .zero { timeout = min(timeout, batchingWindow) }
            await wakes[lane].wait(timeout: timeout)
        }
    }

    /// The start of the tumbling window holding `millis`.
    static func windowStart(_ millis: Int64, _ windowMillis: Int64) -> Int64 {
        let remainder = ((millis % windowMillis) + windowMillis) % windowMillis
        return millis.subtractingSaturating(remainder)
    }
}
