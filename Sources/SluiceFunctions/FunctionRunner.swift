import Logging
import SluiceEngine
import SluiceExports
import SluiceStorage
import Synchronization

/// One `[[functions]]` entry at run time: a durable consumer of a local stream whose
/// batches run through a handler with Lambda's event source mapping semantics
/// (FUNCTIONS.md). One task per readable shard reads, filters and hands records to
/// `parallelization_factor` lanes; each lane runs its batches in order through the
/// `BatchProcessor`; the position moves past records once they are done. A child shard
/// starts once its parents are finished, as for exports.
public final class FunctionRunner: StoppableConsumer {
    public let settings: FunctionSettings
    public let consumer: DurableConsumer
    let handler: any FunctionHandler
    let logger: Logger
    let metrics: FunctionMetrics
    let processor: BatchProcessor
    let failureSink: (any FailureSink)?
    /// Completed by `finish` (stop): lanes end after their batch in flight.
    private let stopping = DeliveryReceipt()
    private let round = Mutex<Task<Void, Never>?>(nil)
    private let failureLog = LogRateLimit()
    /// How a shard reader waits between reads when caught up.
    var idleWait: Duration { settings.tumblingWindowSeconds > 0 ? .seconds(1) : .seconds(60) }
    /// Records queued in a shard's lanes before its reader waits.
    var maxQueuedRecords: Int { max(1_000, settings.batchSize * settings.parallelizationFactor * 2) }
    static let maxQueuedBytes = 64 << 20

    public init(
        settings: FunctionSettings, consumer: DurableConsumer, handler: any FunctionHandler,
        failureSink: (any FailureSink)?, logger: Logger, pause: (@Sendable (Int) async throws -> Void)? = nil
    ) {
        self.settings = settings
        self.consumer = consumer
        self.handler = handler
        self.logger = logger
        self.failureSink = failureSink
        let metrics = FunctionMetrics(function: settings.name)
        self.metrics = metrics
        let backoff = settings.retryBackoff
        processor = BatchProcessor(
            settings: settings, event: KinesisEvent(settings: settings), handler: handler, sink: failureSink ?? DiscardingFailureSink(), hasFailureDestination: failureSink != nil,
            metrics: metrics, limit: settings.reservedConcurrency.map { ConcurrencyLimit(slots: $0) },
            clock: { consumer.nowMillis() },
            pause: pause ?? { attempt in try await backoff.sleep(attempt: attempt) },
            isExpired: { shard, offset in offset < (consumer.trimHorizon(of: shard) ?? 0) },
            logger: logger, failureLog: LogRateLimit(interval: .seconds(1))
        )
    }

    /// Runs until the task is cancelled.
    public func run() async {
        logger.info("function started", metadata: [
            "function": "\(settings.name)", "stream": "\(settings.stream)", "handler": "\(settings.handler)",
            "parallelization_factor": "\(settings.parallelizationFactor)",
        ])
        await failureSink?.prepare()
        while !Task.isCancelled && !stopping.isComplete {
            let task = Task {
                await ShardSupervisor(consumer: self.consumer, backoff: self.settings.retryBackoff, stopping: self.stopping) { error, message, shard in
                    self.note(error, message, shard: shard)
                }.run { try await self.runShard($0) }
            }
            round.withLock { $0 = task }
            await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
            round.withLock { $0 = nil }
        }
        await handler.shutdown()
        await failureSink?.shutdown()
    }

    /// At stop: no more batches start; the ones running end and their records are
    /// committed. Gives up after `limit` (the handlers are stopped; those batches run
    /// again at the next start).
    public func finish(within limit: Duration) async {
        stopping.complete(.success(()))
        await wait(for: round.withLock { $0 }, within: limit)
    }

    private func runShard(_ index: Int) async throws -> Bool {
        let watch = try consumer.watch(shard: index)
        defer { watch.close() }
        let work = ShardWork(lanes: settings.parallelizationFactor, position: try consumer.position(of: index))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<work.laneCount {
                group.addTask { try await self.runLane(lane, of: work, shard: index) }
            }
            let last: ConsumerBatch?
            do {
                last = try await read(index, into: work, watch: watch)
            } catch {
                group.cancelAll()
                throw error
            }
            work.close(stopNow: last == nil)
            try await group.waitForAll()
            try Task.checkCancellation()
            guard let last, work.allDone else { return false }
            // Every lane drained: the shard's end is committed, its children follow.
            guard try consumer.commit(last) else { throw CancellationError() }
            logger.info("function finished a closed shard; its children follow", metadata: ["function": "\(settings.name)", "shard": "\(last.shardId)"])
            return true
        }
    }

    /// Reads the shard into its lanes. - Returns: the batch that finished the shard, or
    /// nil at stop.
    private func read(_ index: Int, into work: ShardWork, watch: AppendWatch) async throws -> ConsumerBatch? {
        var offset = try consumer.position(of: index)
        let perRead = min(10_000, settings.batchSize * settings.parallelizationFactor)
        while true {
            try Task.checkCancellation()
            if stopping.isComplete { return nil }
            let queued = work.queued
            if queued.records >= maxQueuedRecords || queued.bytes >= Self.maxQueuedBytes {
                await Self.firstOf(work.spaceFreed, stopping, timeout: .seconds(1))
                continue
            }
            let batch = try consumer.read(shard: index, from: offset, maxRecords: perRead, maxBytes: 8 << 20)
            if batch.records.isEmpty && !batch.finished {
                work.caughtUp(at: consumer.nowMillis())
                await Self.firstOf(watch, stopping, timeout: idleWait)
                continue
            }
            var kept = batch.records
            if !settings.filters.isEmpty {
                kept = batch.records.filter { record in
                    let view = FilterableRecord(
                        partitionKey: record.partitionKey, sequenceNumber: SequenceNumber(shardIndex: index, offset: record.offset).description,
                        arrivalMillis: record.timestampMillis, data: record.data
                    )
                    return settings.filters.contains { $0.matches(view) }
                }
                metrics.filtered(batch.records.count - kept.count)
            }
            work.add(kept, readBatch: batch)
            if kept.isEmpty, let commit = work.complete([]) { try commitMoved(commit, work) }
            offset = batch.nextOffset
            if batch.finished {
                var last = batch
                last.records = []
                return last
            }
        }
    }

    /// One lane: batches in order through the processor; with a tumbling window, records
    /// are done when their window's final invocation succeeded.
    private func runLane(_ lane: Int, of work: ShardWork, shard index: Int) async throws {
        let windowMillis = Int64(settings.tumblingWindowSeconds) * 1000
        let event = processor.event
        var window: BatchProcessor.Window?
        var windowOffsets: [UInt64] = []
        while true {
            let next = await work.next(
                lane: lane, batchSize: settings.batchSize, maxBytes: settings.maxEventBytes, batchingWindow: settings.batchingWindow,
                eventSize: event.size(of:), window: window, windowMillis: windowMillis, clock: { consumer.nowMillis() }
            )
            switch next {
            case .stop:
                return
            case .closeWindow:
                if let current = window { try await processor.finish(current, shard: index) }
                window = nil
                if let commit = work.complete(windowOffsets) { try commitMoved(commit, work) }
                windowOffsets = []
            case .batch(let records):
                if windowMillis > 0, window == nil, let first = records.first {
                    let start = ShardWork.windowStart(first.timestampMillis, windowMillis)
                    window = BatchProcessor.Window(startMillis: start, endMillis: start.addingSaturating(windowMillis))
                }
                try await processor.process(records[...], shard: index, window: &window)
                let offsets = records.map { $0.offset }
                if windowMillis > 0 {
                    windowOffsets += offsets
                } else if let commit = work.complete(offsets) {
                    try commitMoved(commit, work)
                }
            }
        }
    }

    private func commitMoved(_ batch: ConsumerBatch, _ work: ShardWork) throws {
        guard try consumer.commit(batch) else { throw CancellationError() }
        work.committed(batch.nextOffset)
    }

    private static func firstOf(_ signal: some Waitable, _ receipt: DeliveryReceipt, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await signal.wait(timeout: timeout) }
            group.addTask { try? await receipt.wait() }
            await group.next()
            group.cancelAll()
        }
    }

    private func note(_ error: any Error, _ message: Logger.Message, shard: Int? = nil) {
        var metadata: Logger.Metadata = ["function": "\(settings.name)", "error": "\(error)"]
        if let shard { metadata["shard"] = "\(ShardID.string(shard))" }
        failureLog.log(logger, .error, message, metadata: metadata)
    }

    public func status() -> FunctionStatus {
        let counts = metrics.snapshot
        var status = FunctionStatus(name: settings.name, handler: "\(settings.handler)", consumer: consumer.status())
        status.invocations = counts.invocations
        status.errors = counts.errors
        status.throttles = counts.throttles
        status.succeededRecords = counts.succeeded
        status.filteredOutRecords = counts.filteredOut
        status.droppedRecords = counts.dropped
        status.expiredRecords = counts.expired
        status.lastError = counts.lastError
        status.lastErrorMillis = counts.lastErrorMillis
        return status
    }
}

/// What a reader can wait on besides stop: appends, or a lane taking records.
protocol Waitable: Sendable {
    func wait(timeout: Duration) async
}

extension AppendWatch: Waitable {}
extension WakeSignal: Waitable {}
