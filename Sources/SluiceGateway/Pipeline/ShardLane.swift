import Logging
import Metrics
import SluiceEngine
import SluiceStorage
import Synchronization

/// One shard's way into the sink: its meter, its spool and the lock that keeps them in
/// order.
///
/// A record goes straight to the sink only when the shard's spool is empty (and no
/// closed shard of the stream still spools records that must go first) and the meter
/// admits it; otherwise it is appended to the spool, behind everything spooled before.
/// The drain sends the spool's head at the shard's rate. Both paths hold the lane's lock,
/// so a record can never overtake one accepted before it.
final class ShardLane: Sendable {
    let stream: String
    let shardId: String
    let index: Int
    let limiter: ShardRateLimiter
    let spool: ShardSpool
    private let sink: any GatewaySink
    private let space: SpoolSpace
    private let time: any TimeSource
    private let lock = AsyncLock()
    private let wake = WakeSignal()
    /// True while an older closed shard of the stream still has spooled records: those go
    /// first (for open and closed lanes alike).
    private let mustWait: @Sendable () -> Bool
    /// The stream's latest repeat request (RepeatRequest), if any.
    private let repeats: @Sendable () -> RepeatRequest?
    private let logger: Logger
    private let state = Mutex(State())
    private let metrics: LaneMetrics

    struct State {
        /// Set when resharding closed the shard: new records are routed elsewhere, the
        /// spool still drains (the sink routes its records to the children).
        var closed = false
        /// The version of the shard map that last had this shard open: what the sink is
        /// told, so it appends without routing again while that map is current.
        var mapVersion: UInt64 = 0
        var direct: UInt64 = 0
        var spooled: UInt64 = 0
        var drained: UInt64 = 0
        var dropped: UInt64 = 0
        var sinkFailures: UInt64 = 0
        var stored = RateWindow()
        /// The repeat request this lane answered, and per producer the highest sequence
        /// the shard already holds (dropped once a higher one passes).
        var answeredRepeats: UInt64 = 0
        var highWater: [UInt64: UInt64] = [:]
        var skippedRepeats: UInt64 = 0
        /// False until the drain has looked for spooled records a crash left stored but
        /// not yet past the spool's cursor (nothing to look for when the spool opened empty).
        var headChecked = false
    }

    /// The most one drain step sends (PutRecords' record bound; the meter admits fewer).
    static let maxBatchRecords = 500
    /// The most one put to the sink carries: one frame, one fsync in the embedded engine.
    static let maxBatchBytes = 8 << 20

    init(
        stream: String, shardId: String, index: Int, rates: ShardRateLimiter.Rates, spool: ShardSpool,
        sink: any GatewaySink, space: SpoolSpace, time: any TimeSource, mustWait: @escaping @Sendable () -> Bool,
        repeats: @escaping @Sendable () -> RepeatRequest? = { nil }, logger: Logger
    ) {
        self.stream = stream
        self.shardId = shardId
        self.index = index
        self.limiter = ShardRateLimiter(rates: rates)
        self.spool = spool
        self.sink = sink
        self.space = space
        self.time = time
        self.mustWait = mustWait
        self.repeats = repeats
        self.logger = logger
        self.metrics = LaneMetrics(stream: stream, shardId: shardId)
        state.withLock { $0.headChecked = spool.isEmpty }
        metrics.update(spool)
    }

    var isClosed: Bool { state.withLock { $0.closed } }
    /// The shard map of `version` has this shard open.
    func confirm(mapVersion version: UInt64) { state.withLock { $0.mapVersion = max($0.mapVersion, version) } }
    func close() {
        state.withLock { $0.closed = true }
        wake.signal()
    }

    /// Makes `records` durable in the sink or the spool, in order. Returns the records it
    /// did not take because the shard closed meanwhile: the caller routes them again.
    /// - Throws: when the spool cannot store them (disk full, I/O error); nothing of what
    ///   was not yet stored counts as accepted.
    func offer(_ records: [PutRecordInput]) async throws -> [PutRecordInput] {
        var pending = records
        var force = false
        while true {
            await lock.lock()
            if isClosed {
                lock.unlock()
                return pending
            }
            do {
                pending = try await skipRepeats(pending)
            } catch {
                lock.unlock()
                throw error
            }
            if pending.isEmpty {
                lock.unlock()
                return []
            }
            if spool.isEmpty, !mustWait() {
                let admitted = limiter.admit(sizes: pending.lazy.map(\.size))
                if admitted > 0 {
                    let sent = Array(pending.prefix(admitted))
                    let stored = await store(sent)
                    limiter.settle()
                    record(stored: zip(sent, stored).filter { $0.1 }.map(\.0), direct: true)
                    pending = zip(sent, stored).filter { !$0.1 }.map(\.0) + pending.dropFirst(admitted)
                }
            }
            if pending.isEmpty {
                lock.unlock()
                return []
            }
            // Spool what fits under the bound (everything once drop_oldest made room),
            // then wait or drop for the rest.
            var take = pending.count
            if !force {
                let used = space.used()
                var room = max(0, space.maxBytes - used)
                take = 0
                while take < pending.count, Int64(pending[take].size) <= room {
                    room -= Int64(pending[take].size)
                    take += 1
                }
                if take == 0 && used == 0 { take = 1 }
            }
            if take > 0 {
                do {
                    try await spool.append(Array(pending.prefix(take)))
                } catch {
                    lock.unlock()
                    throw error
                }
                state.withLock { $0.spooled += UInt64(take) }
                metrics.spooled.increment(by: take)
                metrics.update(spool)
                pending.removeFirst(take)
                wake.signal()
                if pending.isEmpty {
                    lock.unlock()
                    return []
                }
            }
            lock.unlock()
            force = await space.makeRoom(pending.reduce(0) { $0 + $1.size }, pending[0].size)
            if Task.isCancelled { throw CancellationError() }
        }
    }

    /// Sends records to the sink in batches of at most `maxBatchBytes`; says per record
    /// whether it is stored. A batch the sink refuses as a whole counts as not stored.
    private func store(_ records: [PutRecordInput]) async -> [Bool] {
        var stored: [Bool] = []
        stored.reserveCapacity(records.count)
        for range in Batches.cut(count: records.count, maxBytes: Self.maxBatchBytes, size: { records[$0].size }) {
            let batch = Array(records[range])
            let route = state.withLock { $0.closed || $0.mapVersion == 0 ? nil : ShardRoute(index: index, mapVersion: $0.mapVersion) }
            do {
                let outcomes = try await sink.put(stream: stream, records: batch, routedTo: route)
                stored += outcomes.map(\.isStored)
                let failed = outcomes.count - outcomes.lazy.filter(\.isStored).count
                if failed > 0 { noteSinkFailure(count: failed, outcomes.first { if case .failed = $0 { true } else { false } }) }
            } catch {
                stored += Array(repeating: false, count: batch.count)
                noteSinkFailure(count: batch.count, .failed(EngineError(.internalFailure, "\(error)")))
            }
        }
        return stored
    }

    private func noteSinkFailure(count: Int, _ example: SinkOutcome?) {
        let first = state.withLock { s -> Bool in
            defer { s.sinkFailures += UInt64(count) }
            return s.sinkFailures == 0
        }
        metrics.sinkFailures.increment(by: count)
        // Throttling is expected (another producer shares the shard): counted, not logged.
        if case .failed(let error) = example, error.kind != .provisionedThroughputExceeded, first || logger.logLevel <= .debug {
            logger.warning("sink refused records; they stay spooled and are retried", metadata: [
                "stream": "\(stream)", "shard": "\(shardId)", "records": "\(count)", "error": "\(error.message)",
            ])
        }
    }

    private func record(stored records: [PutRecordInput], direct: Bool) {
        guard !records.isEmpty else { return }
        let bytes = records.reduce(0) { $0 + $1.size }
        let now = time.nowMillis()
        state.withLock { s in
            if direct { s.direct += UInt64(records.count) } else { s.drained += UInt64(records.count) }
            s.stored.add(records: records.count, bytes: bytes, nowMillis: now)
        }
        metrics.storedRecords.increment(by: records.count)
        metrics.storedBytes.increment(by: bytes)
    }

    // MARK: - Draining

    /// Records read from the spool's head ahead of the meter, so a drain step admitting a
    /// few records does not re-read (and re-decrypt) a whole frame each time.
    static let readAheadRecords = 2_000
    static let readAheadBytes = 4 << 20

    /// Drains the spool at the shard's rate until cancelled, or until the shard is closed
    /// and its spool empty.
    func runDrain() async {
        var backoff = Duration.milliseconds(50)
        var readAhead: ArraySlice<StoredRecord> = []
        while !Task.isCancelled {
            if spool.isEmpty {
                readAhead = []
                if isClosed { return }
                await wake.wait(timeout: .seconds(1))
                continue
            }
            if mustWait() {
                await wake.wait(timeout: .milliseconds(100))
                continue
            }
            do {
                let head = spool.head
                readAhead = readAhead.drop { $0.offset < head }
                if readAhead.first?.offset != head {
                    readAhead = try spool.peek(maxRecords: Self.readAheadRecords, maxBytes: Self.readAheadBytes)[...]
                }
                guard let first = readAhead.first else {
                    try await Task.sleep(for: .milliseconds(100))
                    continue
                }
                let delay = limiter.delay(forSize: first.size)
                if delay > .zero { try await Task.sleep(for: delay) }
                let progress = try await drainStep(readAhead)
                readAhead = readAhead.dropFirst(progress.stored)
                if progress.sent > 0, progress.stored < progress.sent {
                    try await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(5))
                } else if progress.stored > 0 {
                    backoff = .milliseconds(50)
                }
            } catch is CancellationError {
                return
            } catch {
                logger.error("spool drain failed; retrying", metadata: ["stream": "\(stream)", "shard": "\(shardId)", "error": "\(error)"])
                readAhead = []
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Drops the records this shard already holds (a restarted source sending its last
    /// batch again). Called under the lane's lock, so nothing is stored between the
    /// look-up and the check. - Throws: when the log or the spool cannot be read.
    private func skipRepeats(_ records: [PutRecordInput]) async throws -> [PutRecordInput] {
        if let request = repeats(), request.id > state.withLock({ $0.answeredRepeats }) {
            var found = try await sink.highWater(stream: stream, shardIndex: index, sinceMillis: request.sinceMillis, producers: request.producers)
            for (producer, sequence) in try spool.highWater(of: request.producers, sinceMillis: request.sinceMillis) {
                found[producer] = max(found[producer] ?? 0, sequence)
            }
            state.withLock {
                $0.answeredRepeats = request.id
                $0.highWater.merge(found) { max($0, $1) }
            }
            if !found.isEmpty {
                logger.info("gateway: a restarted source's last records are already in this shard; they are not stored again", metadata: [
                    "stream": "\(stream)", "shard": "\(shardId)", "producers": "\(found.count)",
                ])
            }
        }
        var skipped = 0
        defer { if skipped > 0 { metrics.repeatsSkipped.increment(by: skipped) } }
        return state.withLock { s in
            guard !s.highWater.isEmpty else { return records }
            var kept: [PutRecordInput] = []
            kept.reserveCapacity(records.count)
            for record in records {
                if let origin = record.origin, let high = s.highWater[origin.producer] {
                    if origin.sequence <= high {
                        s.skippedRepeats += 1
                        skipped += 1
                        continue
                    }
                    // Past what the shard holds: this producer's records are all new now.
                    s.highWater[origin.producer] = nil
                }
                kept.append(record)
            }
            return kept
        }
    }

    /// How many records at the spool's head the shard holds already: drained by a step a
    /// crash interrupted before the cursor was written (it is written after every step, so
    /// they arrived after it was last written, and after the head record was spooled).
    /// Found by exact origin, so a record is skipped only if that very record is stored;
    /// a record without an origin (MQTT, the API) is sent again. A closed shard's drained
    /// records are in its children: they are looked for in every later shard.
    private func storedAtHead(_ pending: ArraySlice<StoredRecord>) async throws -> Int {
        let wanted = Set(pending.lazy.compactMap(\.origin))
        guard let first = pending.first, first.origin != nil else { return 0 }
        let since = max(spool.cursorSavedAtMillis ?? .min, first.timestampMillis).subtractingSaturating(Self.clockSlackMillis)
        let stored = try await sink.storedOrigins(stream: stream, shardIndex: index, andLaterShards: isClosed, sinceMillis: since, among: wanted)
        var count = 0
        for record in pending {
            guard let origin = record.origin, stored.contains(origin) else { break }
            count += 1
        }
        return count
    }

    /// How far the wall clock may have stepped back between a crash and the look-up.
    static let clockSlackMillis: Int64 = 5_000

    /// Sends what the meter admits from `pending` (the spool's head onwards); advances past
    /// the leading records the sink stored.
    private func drainStep(_ pending: ArraySlice<StoredRecord>) async throws -> (sent: Int, stored: Int) {
        await lock.lock()
        defer { lock.unlock() }
        // A drop_oldest may have moved the head while this lane waited for the lock.
        guard pending.first?.offset == spool.head else { return (0, 0) }
        if !state.withLock({ $0.headChecked }) {
            let skipped = try await storedAtHead(pending)
            state.withLock { $0.headChecked = skipped < pending.count }
            if skipped > 0 {
                try spool.advance(to: pending[pending.startIndex + skipped - 1].offset + 1)
                space.shrank()
                state.withLock { $0.skippedRepeats += UInt64(skipped) }
                metrics.repeatsSkipped.increment(by: skipped)
                metrics.update(spool)
                logger.info("gateway: spooled records drained just before a crash are already in this shard; they are not stored again", metadata: [
                    "stream": "\(stream)", "shard": "\(shardId)", "records": "\(skipped)",
                ])
                return (skipped, skipped)
            }
        }
        let candidates = pending.prefix(Self.maxBatchRecords)
        let admitted = limiter.admit(sizes: candidates.lazy.map(\.size))
        guard admitted > 0 else { return (0, 0) }
        let sent = candidates.prefix(admitted)
        let stored = await store(sent.map(\.logRecord))
        limiter.settle()
        let leading = stored.firstIndex(of: false) ?? stored.count
        if leading > 0 {
            try spool.advance(to: sent[sent.startIndex + leading - 1].offset + 1)
            space.shrank()
            record(stored: sent.prefix(leading).map(\.logRecord), direct: false)
            metrics.update(spool)
        }
        return (admitted, leading)
    }

    /// Drops the spool's oldest segment (`drop_oldest`); returns how many records went.
    func dropOldest() async -> UInt64 {
        await lock.lock()
        defer { lock.unlock() }
        do {
            let dropped = try spool.dropOldestSegment()
            space.shrank()
            state.withLock { $0.dropped += dropped }
            metrics.dropped.increment(by: Int(dropped))
            metrics.update(spool)
            return dropped
        } catch {
            logger.error("could not drop from the spool", metadata: ["stream": "\(stream)", "shard": "\(shardId)", "error": "\(error)"])
            return 0
        }
    }

    /// Waits for whatever holds the lock, then writes the cursor and closes the spool.
    func shutdown() async {
        await lock.lock()
        defer { lock.unlock() }
        do { try await spool.close() } catch {
            logger.error("closing the spool failed", metadata: ["stream": "\(stream)", "shard": "\(shardId)", "error": "\(error)"])
        }
    }

    func status(nowMillis: Int64) -> GatewayStatus.Shard {
        let s = state.withLock { $0 }
        let rates = s.stored.rates(nowMillis: nowMillis)
        return GatewayStatus.Shard(
            shardId: shardId, open: !s.closed, recordsPerSecond: rates.records, bytesPerSecond: rates.bytes,
            spoolRecords: spool.pendingRecords, spoolBytes: spool.diskBytes,
            directRecords: s.direct, spooledRecords: s.spooled, drainedRecords: s.drained, droppedRecords: s.dropped,
            sinkFailures: s.sinkFailures, repeatsSkipped: s.skippedRepeats
        )
    }
}

/// A lane's metrics, labelled by stream and shard.
struct LaneMetrics: Sendable {
    let storedRecords: Counter
    let storedBytes: Counter
    let spooled: Counter
    let dropped: Counter
    let sinkFailures: Counter
    let repeatsSkipped: Counter
    let spoolRecords: Gauge
    let spoolBytes: Gauge

    init(stream: String, shardId: String) {
        let dimensions = [("stream", stream), ("shard", shardId)]
        storedRecords = Counter(label: "GatewayStoredRecords", dimensions: dimensions)
        storedBytes = Counter(label: "GatewayStoredBytes", dimensions: dimensions)
        spooled = Counter(label: "SpoolAppendedRecords", dimensions: dimensions)
        dropped = Counter(label: "SpoolDroppedRecords", dimensions: dimensions)
        sinkFailures = Counter(label: "GatewaySinkFailedRecords", dimensions: dimensions)
        repeatsSkipped = Counter(label: "GatewayRepeatsSkipped", dimensions: dimensions)
        spoolRecords = Gauge(label: "SpoolRecords", dimensions: dimensions)
        spoolBytes = Gauge(label: "SpoolBytes", dimensions: dimensions)
    }

    func update(_ spool: ShardSpool) {
        spoolRecords.record(Int64(spool.pendingRecords))
        spoolBytes.record(spool.diskBytes)
    }
}

/// What a lane needs of the spools' common bound, from the gateway that owns every lane
/// (the lane knows neither the others nor the budget's bookkeeping).
struct SpoolSpace: Sendable {
    /// Bytes all spools take on disk now.
    var used: @Sendable () -> Int64
    var maxBytes: Int64
    /// Makes room for `bytes` (the first record alone being `first`) by the bound's policy:
    /// waits (`block`) or drops the oldest segments (`drop_oldest`). True when the lane may
    /// then spool past the bound (drop_oldest made what room there was to make).
    var makeRoom: @Sendable (_ bytes: Int, _ first: Int) async -> Bool
    /// Says a spool shrank (a drain step, a drop): producers waiting for room look again.
    var shrank: @Sendable () -> Void
}
