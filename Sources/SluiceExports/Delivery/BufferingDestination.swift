import FoundationEssentials
import Logging
import Metrics
import SluiceEngine
import SluiceStorage
import Synchronization

/// The Firehose half of an export (`kind = "files" | "s3" | "http"`): records gathered
/// into buffers that close at `bufferBytes` or `bufferSeconds`, one buffer per partition
/// under dynamic partitioning, optionally transformed by a local command first, and
/// handed to a `DeliveryTarget`. What cannot be transformed, partitioned or delivered goes
/// to the error output as Firehose's error records; with `backupAll` every source record
/// is kept in a backup output too. A batch's receipt completes once every buffer holding
/// one of its records (data, error or backup) is delivered; only then does the export
/// commit it (OBJECTS.md, "Writing and committing").
public final class BufferingDestination: ExportDestination {
    public struct Settings: Sendable {
        public var bufferBytes = 5 << 20
        public var bufferSeconds = 300
        public var partitioning: Partitioning?
        /// Open data buffers at most; a record of a new partition beyond it closes the
        /// oldest (Firehose's active partitions).
        public var maxOpenPartitions = 500
        public var transform: RecordTransformer?
        /// `backup = "all"`: every source record also goes to the backup output.
        public var backupAll = false

        public init() {}
    }

    /// Which output a buffer belongs to.
    enum Output: Hashable {
        case data(Partition)
        case backup
        case errors(String)
    }

    public let settings: Settings
    let target: any DeliveryTarget
    let errorTarget: (any DeliveryTarget)?
    let backupTarget: (any DeliveryTarget)?
    let export: String
    let clock: any TimeSource
    let logger: Logger
    private let buffers = Mutex(OpenBuffers())
    private let counts = Mutex(Counts())
    private let timers = Mutex<[UInt64: Task<Void, Never>]>([:])
    private let metrics: DeliveryMetrics

    struct OpenBuffer {
        var records: [BufferedRecord] = []
        var bytes = 0
        var firstArrival: Int64
        var batches: [PendingBatch] = []
        /// Names the buffer, so a timer armed for one already delivered does nothing.
        var generation: UInt64
    }

    struct OpenBuffers {
        var open: [Output: OpenBuffer] = [:]
        var lastGeneration: UInt64 = 0
        var openData = 0
        /// A stop's flush began: nothing is left open from then on.
        var flushing = false
    }

    struct Counts {
        var received: UInt64 = 0
        var objects: UInt64 = 0
        var records: UInt64 = 0
        var bytes: UInt64 = 0
        var errorRecords: UInt64 = 0
        var droppedRecords: UInt64 = 0
        var freshnessSeconds: Double?
    }

    /// - Parameters:
    ///   - errorTarget: where error records go; nil only when nothing can fail (a target
    ///     that retries until it delivers, no transform, no partitioning).
    ///   - backupTarget: with `settings.backupAll`.
    public init(settings: Settings, target: any DeliveryTarget, errorTarget: (any DeliveryTarget)?, backupTarget: (any DeliveryTarget)?,
                export: String, clock: any TimeSource = SystemTimeSource(), logger: Logger) {
        self.settings = settings
        self.target = target
        self.errorTarget = errorTarget
        self.backupTarget = backupTarget
        self.export = export
        self.clock = clock
        self.logger = logger
        metrics = DeliveryMetrics(stem: target.metricName, deliveryStream: export)
    }

    public var description: String { target.description }
    /// Many batches per shard go into one buffer; memory stays bounded by the buffers,
    /// which close at `bufferBytes`.
    public var batchesInFlight: Int { 4096 }

    public var statistics: [String: UInt64] {
        let c = counts.withLock { $0 }
        return ["recordsRead": c.received, "objects": c.objects, "recordsWritten": c.records, "bytesWritten": c.bytes, "errorRecords": c.errorRecords, "droppedRecords": c.droppedRecords]
    }

    public var failure: String? { target.failure ?? errorTarget?.failure ?? backupTarget?.failure }

    /// Records in open buffers.
    public var bufferedRecords: Int { buffers.withLock { $0.open.values.reduce(0) { $0 + $1.records.count } } }
    /// Open data buffers (partitions).
    public var openPartitions: Int { buffers.withLock { $0.openData } }
    public var lastDelivery: (name: String, freshnessSeconds: Double)? {
        guard let name = target.lastDelivered, let freshness = counts.withLock({ $0.freshnessSeconds }) else { return nil }
        return (name, freshness)
    }

    /// The targets, each store once: error and backup outputs usually share the data
    /// output's store, whose leftovers are cleared and whose connections are closed once.
    private var distinctTargets: [any DeliveryTarget] {
        var seen: Set<String> = []
        return [target, errorTarget, backupTarget].compactMap { $0 }.filter { seen.insert($0.description).inserted }
    }

    /// Clears what a crash left in the stores; a store that cannot be reached now is
    /// logged (its leftovers are invisible partial uploads, cleared at a later start).
    public func prepare() async {
        for target in distinctTargets {
            do { try await target.prepare() } catch {
                logger.warning("could not clear what a crash left", metadata: ["export": "\(export)", "destination": "\(target.description)", "error": "\(error)"])
            }
        }
    }

    public func shutdown() async {
        for timer in timers.withLock({ t in defer { t = [:] }; return Array(t.values) }) { timer.cancel() }
        for target in distinctTargets { await target.shutdown() }
    }

    public func submit(_ batch: ConsumerBatch, stream _: String) async throws -> DeliveryReceipt {
        let pending = PendingBatch()
        var records = batch.records.map { BufferedRecord(record: $0, shardIndex: batch.shardIndex) }
        metrics.read(records)
        var closed: [(Output, OpenBuffer)] = []
        if settings.backupAll { add(records, to: .backup, for: [pending], closing: &closed) }
        var failed: [FailedRecord] = []
        if let transform = settings.transform, !records.isEmpty {
            let outcome = try await transform.run(records)
            records = outcome.transformed
            failed += outcome.failed
            counts.withLock { $0.droppedRecords += UInt64(outcome.dropped) }
            metrics.processed(outcome)
        }
        if let partitioning = settings.partitioning {
            var byPartition: [(Partition, [BufferedRecord])] = []
            for item in records {
                do {
                    let partition = try partitioning.partition(of: item.record)
                    if let last = byPartition.indices.last, byPartition[last].0 == partition {
                        byPartition[last].1.append(item)
                    } else {
                        byPartition.append((partition, [item]))
                    }
                } catch {
                    failed.append(FailedRecord(
                        source: item, outputType: "partitioning-failed", errorCode: error.code, errorMessage: error.message,
                        attemptsMade: 1, attemptEndingMillis: clock.nowMillis()
                    ))
                }
            }
            for (partition, items) in byPartition { add(items, to: .data(partition), for: [pending], closing: &closed) }
        } else if !records.isEmpty {
            add(records, to: .data(Partition()), for: [pending], closing: &closed)
        }
        addFailures(failed, for: [pending], closing: &closed)
        counts.withLock { $0.received += UInt64(batch.records.count) }
        // A stop's flush that ran while these records were distributed may have missed
        // them: deliver what is open now rather than leave it for a flush that is over.
        if buffers.withLock({ $0.flushing }) { closed += takeAll() }
        pending.release()
        for (output, buffer) in closed { try await deliver(buffer, of: output) }
        return pending.receipt
    }

    private func addFailures(_ failed: [FailedRecord], for batches: [PendingBatch], closing closed: inout [(Output, OpenBuffer)]) {
        guard !failed.isEmpty else { return }
        counts.withLock { $0.errorRecords += UInt64(failed.count) }
        for group in Dictionary(grouping: failed, by: \.outputType).sorted(by: { $0.key < $1.key }) {
            add(group.value.map(\.errorRecord), to: .errors(group.key), for: batches, closing: &closed)
        }
        if errorTarget == nil {
            logger.critical("records failed with no error output configured; they are kept in the open buffer", metadata: ["export": "\(export)"])
        }
    }

    /// Adds records of `batches` to the output's open buffer, opening it (and arming its
    /// timer) when there is none; a full buffer, and the oldest data buffer when a new
    /// partition goes past `maxOpenPartitions`, are taken into `closed`.
    private func add(_ items: [BufferedRecord], to output: Output, for batches: [PendingBatch], closing closed: inout [(Output, OpenBuffer)]) {
        guard !items.isEmpty else { return }
        let armed = buffers.withLock { b -> UInt64? in
            var armed: UInt64?
            if b.open[output] == nil {
                if case .data = output {
                    if b.openData >= settings.maxOpenPartitions, let oldest = Self.oldestData(b) {
                        closed.append((oldest, Self.take(oldest, from: &b)!))
                    }
                    b.openData += 1
                }
                b.lastGeneration += 1
                b.open[output] = OpenBuffer(firstArrival: items[0].record.timestampMillis, generation: b.lastGeneration)
                armed = b.lastGeneration
            }
            var buffer = b.open[output]!
            buffer.records += items
            buffer.bytes += items.reduce(0) { $0 + $1.record.data.count + 64 }
            for batch in batches where !buffer.batches.suffix(batches.count).contains(where: { $0 === batch }) {
                buffer.batches.append(batch)
                batch.retain()
            }
            b.open[output] = buffer
            if buffer.bytes >= settings.bufferBytes || settings.bufferSeconds == 0 {
                closed.append((output, Self.take(output, from: &b)!))
                return nil
            }
            return armed
        }
        if let generation = armed {
            let timer = Task { [weak self, seconds = settings.bufferSeconds] in
                do { try await Task.sleep(for: .seconds(seconds)) } catch { return }
                await self?.expire(output, generation: generation)
            }
            timers.withLock { $0[generation] = timer }
        }
    }

    private static func oldestData(_ b: OpenBuffers) -> Output? {
        b.open.filter { if case .data = $0.key { true } else { false } }.min { $0.value.generation < $1.value.generation }?.key
    }

    private static func take(_ output: Output, from b: inout OpenBuffers) -> OpenBuffer? {
        guard let buffer = b.open.removeValue(forKey: output) else { return nil }
        if case .data = output { b.openData -= 1 }
        return buffer
    }

    /// A buffer's timer ran out: deliver it, if it is still the one the timer was armed for.
    private func expire(_ output: Output, generation: UInt64) async {
        _ = timers.withLock { $0.removeValue(forKey: generation) }
        let due = buffers.withLock { b -> OpenBuffer? in
            guard b.open[output]?.generation == generation else { return nil }
            return Self.take(output, from: &b)
        }
        guard let due else { return }
        do { try await deliver(due, of: output) } catch {}
    }

    /// At stop: every open buffer is delivered now (error buffers that deliveries fill
    /// on the way too).
    public func flush() async {
        buffers.withLock { $0.flushing = true }
        while true {
            let open = takeAll()
            if open.isEmpty { return }
            for (output, buffer) in open {
                do { try await deliver(buffer, of: output) } catch { return }
            }
        }
    }

    /// Every open buffer, oldest first, taken out.
    private func takeAll() -> [(Output, OpenBuffer)] {
        buffers.withLock { b in
            let all = b.open.sorted { $0.value.generation < $1.value.generation }
            b.open = [:]
            b.openData = 0
            return all.map { ($0.key, $0.value) }
        }
    }

    /// Delivers one closed buffer to its output's target; records the target gives up on
    /// go to the error output (for the same batches) before the buffer's batches are
    /// released. On cancellation the batches' receipts fail (the export reads them again).
    private func deliver(_ buffer: OpenBuffer, of output: Output) async throws {
        _ = timers.withLock { $0.removeValue(forKey: buffer.generation) }?.cancel()
        let closed: ClosedBuffer
        let deliveringTarget: (any DeliveryTarget)?
        switch output {
        case .data(let partition):
            closed = ClosedBuffer(records: buffer.records, firstArrival: buffer.firstArrival, partition: partition)
            deliveringTarget = target
        case .backup:
            closed = ClosedBuffer(records: buffer.records, firstArrival: buffer.firstArrival)
            deliveringTarget = backupTarget
        case .errors(let type):
            closed = ClosedBuffer(records: buffer.records, firstArrival: buffer.firstArrival, errorOutputType: type)
            deliveringTarget = errorTarget
        }
        guard let deliveringTarget else {
            // Kept open (and so never committed) rather than lost; logged in addFailures.
            return
        }
        let failed: [FailedRecord]
        do {
            failed = try await deliveringTarget.deliver(closed)
        } catch {
            for batch in buffer.batches { batch.fail(error) }
            throw error
        }
        var more: [(Output, OpenBuffer)] = []
        addFailures(failed, for: buffer.batches, closing: &more)
        if case .data = output {
            let delivered = closed.records.count - failed.count
            counts.withLock {
                $0.objects += 1
                $0.records += UInt64(delivered)
                $0.bytes += UInt64(closed.byteCount)
                $0.freshnessSeconds = Double(max(0, clock.nowMillis() - buffer.firstArrival)) / 1000
            }
            metrics.delivered(records: delivered, bytes: closed.byteCount, failed: failed.count, oldestArrival: buffer.firstArrival, now: clock.nowMillis())
        }
        for batch in buffer.batches { batch.release() }
        for (next, nextBuffer) in more { try await deliver(nextBuffer, of: next) }
    }
}

/// One submitted batch, waiting for every buffer that holds one of its records: its
/// receipt completes when the last of them is delivered. Starts held once by `submit`
/// itself, so it cannot complete while its records are still being distributed.
final class PendingBatch: Sendable {
    let receipt = DeliveryReceipt()
    private let holders = Mutex(1)

    func retain() { holders.withLock { $0 += 1 } }

    func release() {
        let done = holders.withLock { count -> Bool in
            count -= 1
            return count == 0
        }
        if done { receipt.complete(.success(())) }
    }

    func fail(_ error: any Error) { receipt.complete(.failure(error)) }
}
