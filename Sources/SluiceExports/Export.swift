import Logging
import Metrics
import SluiceEngine
import SluiceStorage
import Synchronization

/// One `[[exports]]` entry at run time: a durable consumer of a local stream and a
/// destination. One task per readable shard reads a batch, hands it to the destination,
/// and commits the position once the destination has it; a child shard starts once its
/// parents are finished. A paused export keeps its position (across restarts); a rewound
/// one starts again from the position it is given.
public final class Export: StoppableConsumer {
    public struct Settings: Sendable {
        /// One batch: what is read, delivered and committed at once (and so what a crash
        /// may repeat per shard).
        public var batchMaxRecords = 500
        public var batchMaxBytes = 5 << 20
        /// How long a caught-up reader waits for an append before it looks again anyway.
        public var idleWait: Duration = .seconds(60)
        /// Between attempts after a local failure (reading, committing).
        public var backoff = Backoff(base: .milliseconds(200), cap: .seconds(10))

        public init() {}
    }

    public let name: String
    public let kind: String
    public let consumer: DurableConsumer
    public let destination: any ExportDestination
    let settings: Settings
    let logger: Logger
    /// Woken on resume, so a paused export starts at once.
    private let resumed = WakeSignal()
    /// Completed by `finish` (stop): shard tasks read no more, commit what the destination
    /// confirms and return.
    private let stopping = DeliveryReceipt()
    /// The running round of shard tasks; cancelled by pause, rewind and stop.
    private let round = Mutex<Task<Void, Never>?>(nil)
    private let counts = Mutex(Counts())
    private let delivered: Counter
    private let deliveredBytes: Counter
    private let failureLog = LogRateLimit()

    struct Counts {
        var records: UInt64 = 0
        var bytes: Int64 = 0
        var lastError: String?
    }

    public init(name: String, kind: String, consumer: DurableConsumer, destination: any ExportDestination, settings: Settings = Settings(), logger: Logger) {
        self.name = name
        self.kind = kind
        self.consumer = consumer
        self.destination = destination
        self.settings = settings
        self.logger = logger
        delivered = Counter(label: "ExportRecords", dimensions: [("export", name)])
        deliveredBytes = Counter(label: "ExportBytes", dimensions: [("export", name)])
    }

    /// Runs until the task is cancelled.
    public func run() async {
        logger.info("export started", metadata: [
            "export": "\(name)", "stream": "\(consumer.streamName)", "destination": "\(destination.description)", "paused": "\(consumer.isPaused)",
        ])
        await destination.prepare()
        while !Task.isCancelled && !stopping.isComplete {
            if consumer.isPaused {
                await resumed.wait(timeout: .seconds(3600))
                continue
            }
            let task = Task {
                await ShardSupervisor(consumer: self.consumer, backoff: self.settings.backoff, stopping: self.stopping) { error, message, shard in
                    self.note(error, message, shard: shard)
                }.run { try await self.exportShard($0) }
            }
            round.withLock { $0 = task }
            // A pause that came between the check and here cancels nothing: look again.
            if consumer.isPaused { task.cancel() }
            await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
            round.withLock { $0 = nil }
        }
        await destination.shutdown()
    }

    /// At stop: no more reading; the destination writes what it buffers (`flush`) and the
    /// batches in it are committed, so a restart neither repeats nor waits for them.
    /// Gives up after `limit` (a destination that cannot write: its batches are read again
    /// at the next start). The caller cancels `run` afterwards.
    public func finish(within limit: Duration) async {
        stopping.complete(.success(()))
        await wait(for: round.withLock { $0 }, within: limit) { await self.destination.flush() }
    }

    /// Stops reading at once and keeps the position (delivered batches are committed;
    /// one in flight is delivered again after resume).
    public func pause() throws {
        try consumer.setPaused(true)
        round.withLock { $0 }?.cancel()
        logger.notice("export paused", metadata: ["export": "\(name)"])
    }

    /// Resumes a paused export, after moving it to `start` when given.
    public func resume(from start: ConsumerStart? = nil) throws {
        if let start { try rewind(to: start) }
        try consumer.setPaused(false)
        resumed.signal()
        logger.notice("export resumed", metadata: ["export": "\(name)"])
    }

    /// Starts the export again at `start` (the paused flag stays). The positions move
    /// first, then what runs is cancelled, so the round that follows reads from the new
    /// positions; a batch of the old round is not committed (`DurableConsumer.commit`).
    public func rewind(to start: ConsumerStart) throws {
        try consumer.rewind(to: start)
        round.withLock { $0 }?.cancel()
    }

    /// Reads the shard's batches in order and submits them; commits each once its receipt
    /// completes, oldest first. Up to `destination.batchesInFlight` batches are submitted
    /// and unconfirmed at once (a buffering destination gathers many into one object).
    private func exportShard(_ index: Int) async throws -> Bool {
        let watch = try consumer.watch(shard: index)
        defer { watch.close() }
        var offset = try consumer.position(of: index)
        // Submitted batches without their records (the destination has them): what commits.
        var pending: [(batch: ConsumerBatch, receipt: DeliveryReceipt, records: Int, bytes: Int)] = []
        let window = max(1, destination.batchesInFlight)
        while true {
            // Commit what the destination has, in order.
            while let first = pending.first, first.receipt.isComplete {
                try await first.receipt.wait()
                try commit(first.batch, records: first.records, bytes: first.bytes)
                pending.removeFirst()
                if first.batch.finished { return true }
            }
            try Task.checkCancellation()
            if stopping.isComplete {
                // Stop: wait for what the destination is writing out, commit it, read no more.
                guard let first = pending.first else { return false }
                try await first.receipt.wait()
                continue
            }
            if pending.count >= window {
                try await pending[0].receipt.wait()
                continue
            }
            let batch = try consumer.read(shard: index, from: offset, maxRecords: settings.batchMaxRecords, maxBytes: settings.batchMaxBytes)
            if batch.records.isEmpty && !batch.finished {
                // Caught up: wait for an append, for the oldest batch to be confirmed, or stop.
                if let oldest = pending.first?.receipt {
                    await Self.firstOf(watch, oldest, stopping, timeout: settings.idleWait)
                } else {
                    await Self.firstOf(watch, stopping, timeout: settings.idleWait)
                }
                continue
            }
            let receipt = batch.records.isEmpty ? DeliveryReceipt.delivered() : try await destination.submit(batch, stream: consumer.streamName)
            var kept = batch
            kept.records = []
            pending.append((kept, receipt, batch.records.count, batch.records.reduce(0) { $0 + $1.size }))
            offset = batch.nextOffset
            if batch.finished {
                // The shard's end: everything before it is confirmed first, then it finishes.
                for entry in pending {
                    try await entry.receipt.wait()
                    try commit(entry.batch, records: entry.records, bytes: entry.bytes)
                }
                logger.info("export finished a closed shard; its children follow", metadata: ["export": "\(name)", "shard": "\(batch.shardId)"])
                return true
            }
        }
    }

    /// Commits a confirmed batch and counts its records.
    private func commit(_ batch: ConsumerBatch, records: Int, bytes: Int) throws {
        guard try consumer.commit(batch) else { throw CancellationError() }
        counts.withLock {
            $0.records += UInt64(records)
            $0.bytes += Int64(bytes)
            $0.lastError = nil
        }
        delivered.increment(by: records)
        deliveredBytes.increment(by: bytes)
    }

    /// Returns when the shard has an append, when either receipt completes, or after `timeout`.
    private static func firstOf(_ watch: AppendWatch, _ receipts: DeliveryReceipt..., timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await watch.wait(timeout: timeout) }
            for receipt in receipts { group.addTask { try? await receipt.wait() } }
            await group.next()
            group.cancelAll()
        }
    }

    private func note(_ error: any Error, _ message: Logger.Message, shard: Int? = nil) {
        counts.withLock { $0.lastError = "\(error)" }
        var metadata: Logger.Metadata = ["export": "\(name)", "error": "\(error)"]
        if let shard { metadata["shard"] = "\(ShardID.string(shard))" }
        failureLog.log(logger, .error, message, metadata: metadata)
    }

    /// Where the export stands, per shard, and what it delivered since the start.
    public func status() -> ExportStatus {
        let counts = counts.withLock { $0 }
        var status = ExportStatus(
            name: name, kind: kind, destination: destination.description, consumer: consumer.status(),
            deliveredRecords: counts.records, deliveredBytes: counts.bytes, statistics: destination.statistics,
            lastError: counts.lastError ?? destination.failure
        )
        if let last = destination.lastDelivery {
            status.lastDelivered = last.name
            status.dataFreshnessSeconds = last.freshnessSeconds
        }
        return status
    }
}
