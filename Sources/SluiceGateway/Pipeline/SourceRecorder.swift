import Logging
import Metrics
import Synchronization

/// What every source does with a built batch: submits it to the gateway, retrying until
/// it is durable (a source must not move past records that are not), and counts it in
/// the metrics (`SourceRecords`, `SourceParseErrors`, `SourceTruncatedRecords`,
/// `SourceDroppedRecords`) and the figures `GET /status` shows.
public final class SourceRecorder: Sendable {
    public struct Counts: Sendable {
        public var records: UInt64 = 0
        public var parseErrors: UInt64 = 0
        public var truncated: UInt64 = 0
        public var dropped: UInt64 = 0
    }

    let name: String
    let stream: String
    let errorStream: String?
    let gateway: Gateway
    let logger: Logger
    private let totals = Mutex(Counts())
    private let recordsCounter: Counter
    private let parseErrorCounter: Counter
    private let truncatedCounter: Counter
    private let droppedCounter: Counter

    public init(name: String, stream: String, errorStream: String?, gateway: Gateway, logger: Logger) {
        self.name = name
        self.stream = stream
        self.errorStream = errorStream
        self.gateway = gateway
        self.logger = logger
        let dimensions = [("source", name), ("stream", stream)]
        recordsCounter = Counter(label: "SourceRecords", dimensions: dimensions)
        parseErrorCounter = Counter(label: "SourceParseErrors", dimensions: dimensions)
        truncatedCounter = Counter(label: "SourceTruncatedRecords", dimensions: dimensions)
        droppedCounter = Counter(label: "SourceDroppedRecords", dimensions: dimensions)
    }

    public var counts: Counts { totals.withLock { $0 } }

    /// Submits `batch` (its error records to the error stream), retrying every second
    /// until the gateway takes it. Returns once all of it is durable.
    /// - Parameter context: log metadata naming what the source waits on (a file path).
    /// - Throws: `CancellationError` when the task is cancelled first.
    public func store(_ batch: SourceBatch, context: Logger.Metadata = [:]) async throws {
        var main = batch.main
        var attempt = 0
        while true {
            do {
                if !main.isEmpty { try await gateway.submit(stream: stream, records: main) }
                main = []
                if let errorStream, !batch.errors.isEmpty { try await gateway.submit(stream: errorStream, records: batch.errors) }
                break
            } catch {
                if Task.isCancelled { throw CancellationError() }
                if attempt % 30 == 0 {
                    logger.error("could not store records; retrying (the source reads nothing further meanwhile)", metadata: context.merging([
                        "source": "\(name)", "stream": "\(stream)", "error": "\(error)",
                    ]) { a, _ in a })
                }
                attempt += 1
                try await Task.sleep(for: .seconds(1))
            }
        }
        count(batch)
    }

    /// Counts a batch that was handled without storing anything (all of it dropped).
    public func count(_ batch: SourceBatch) {
        recordsCounter.increment(by: batch.count)
        if batch.parseErrors > 0 { parseErrorCounter.increment(by: batch.parseErrors) }
        if batch.truncated > 0 { truncatedCounter.increment(by: batch.truncated) }
        if batch.dropped > 0 { droppedCounter.increment(by: batch.dropped) }
        totals.withLock {
            $0.records += UInt64(batch.count)
            $0.parseErrors += UInt64(batch.parseErrors)
            $0.truncated += UInt64(batch.truncated)
            $0.dropped += UInt64(batch.dropped)
        }
    }
}
