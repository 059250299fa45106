import Logging
import SluiceEngine
import SluiceExports
import SluiceStorage
import Synchronization

/// Where Lambda's failure record goes for records given up on (`on_failure`).
public protocol FailureSink: Sendable {
    /// Stores one failure record durably, retrying until it is stored; throws only
    /// `CancellationError`. The function's position moves past the records only after.
    func deliver(_ record: [UInt8], partitionKey: String) async throws
    /// Before the first record, and when the function stops.
    func prepare() async
    func shutdown() async
}

extension FailureSink {
    public func prepare() async {}
    public func shutdown() async {}
}

/// `on_failure = { export = "NAME" }`: the failure record goes straight to an export's
/// destination (a remote Kinesis stream, files, S3, an HTTP endpoint), as Lambda sends it
/// to SQS, SNS or S3. Each record is written out at once (a buffering destination closes
/// its object) and the function moves on once the destination has it.
public final class ExportFailureSink: FailureSink {
    let destination: any ExportDestination
    /// What the destination's objects and records name as their stream: `function.NAME`.
    let label: String
    let clock: @Sendable () -> Int64
    /// Offsets of the records handed over: increasing across restarts (they start at the
    /// clock), so their sequence numbers in JSON lines never repeat.
    private let next: Atomic<UInt64>

    public init(destination: any ExportDestination, label: String, clock: @escaping @Sendable () -> Int64) {
        self.destination = destination
        self.label = label
        self.clock = clock
        next = Atomic(UInt64(max(0, clock())) << 8)
    }

    public func deliver(_ record: [UInt8], partitionKey: String) async throws {
        let offset = next.add(1, ordering: .relaxed).newValue
        let stored = StoredRecord(offset: offset, timestampMillis: clock(), partitionKey: partitionKey, data: record)
        let receipt = try await destination.submit(.detached(shardIndex: 0, records: [stored]), stream: label)
        await destination.flush()
        try await receipt.wait()
    }

    public func prepare() async { await destination.prepare() }
    public func shutdown() async { await destination.shutdown() }
}

/// `on_failure = "<stream>"`: the failure record is put into a local stream (an
/// `[[exports]]` entry on that stream carries it off the box).
public struct StreamFailureSink: FailureSink {
    let engine: StreamEngine
    let stream: String
    let logger: Logger
    var backoff = Backoff(base: .milliseconds(200), cap: .seconds(10))
    let failureLog = LogRateLimit()

    public init(engine: StreamEngine, stream: String, logger: Logger) {
        self.engine = engine
        self.stream = stream
        self.logger = logger
    }

    public func deliver(_ record: [UInt8], partitionKey: String) async throws {
        var attempt = 0
        while true {
            try Task.checkCancellation()
            do {
                _ = try await engine.writer.putRecord(stream: stream, record: PutRecordInput(partitionKey: partitionKey, data: record))
                return
            } catch {
                failureLog.log(logger, .error, "cannot store a function's failure record in its on_failure stream; retrying (the function waits)", metadata: [
                    "stream": "\(stream)", "error": "\(error)",
                ])
            }
            try await backoff.sleep(attempt: attempt)
            attempt += 1
        }
    }
}

/// No `on_failure`: records given up on are counted and logged (Lambda discards them too).
public struct DiscardingFailureSink: FailureSink {
    public init() {}
    public func deliver(_ record: [UInt8], partitionKey: String) async throws {}
}
