import Logging
import SluiceEngine
import SluiceExports
import SluiceStorage

/// Where Lambda's failure record goes for records given up on (`on_failure`).
public protocol FailureSink: Sendable {
    /// Stores one failure record durably, retrying until it is stored; throws only
    /// `CancellationError`. The function's position moves past the records only after.
    func deliver(_ record: [UInt8], partitionKey: String) async throws
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
                _ = try await engine.putRecord(stream: stream, record: PutRecordInput(partitionKey: partitionKey, data: record))
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
