import CoreMetrics
import FoundationEssentials
import Logging
import SluiceEngine
import SluiceStorage

/// Takes one lane's batch through the handler until every record of it is done:
/// succeeded, or given up on (retries spent, too old) and described to `on_failure`.
/// Lambda's event source mapping rules (FUNCTIONS.md, "Retries, bisection, age"):
/// partial answers retry from the first failed record, a failed batch is split in two
/// with `bisect_batch_on_function_error`, records older than `maximum_record_age_seconds`
/// and retries beyond `maximum_retry_attempts` are given up on. Throws only
/// `CancellationError` (stop, pause): then nothing of the batch counts as done.
struct BatchProcessor: Sendable {
    let settings: FunctionSettings
    /// Built once: its size estimate encodes a sample record.
    let event: KinesisEvent
    let handler: any FunctionHandler
    let sink: any FailureSink
    let hasFailureDestination: Bool
    let metrics: FunctionMetrics
    let limit: ConcurrencyLimit?
    /// Unix milliseconds now (injected: tests drive ages and windows).
    let clock: @Sendable () -> Int64
    /// Waits before retry `attempt` (0 for the first retry).
    let pause: @Sendable (Int) async throws -> Void
    /// The stream deleted this record (retention) while it waited.
    let isExpired: @Sendable (_ shard: Int, _ offset: UInt64) -> Bool
    let logger: Logger
    let failureLog: LogRateLimit

    /// One lane's tumbling window, carried across its batches.
    struct Window: Sendable {
        var startMillis: Int64
        var endMillis: Int64
        var state: [UInt8] = Array("{}".utf8)
    }

    enum Attempt: Equatable {
        case done(state: [UInt8]?)
        case partial(firstFailure: Int, state: [UInt8]?)
        case failed(problem: String, statusCode: Int)
    }


    func process(_ records: ArraySlice<StoredRecord>, shard: Int, window: inout Window?) async throws {
        var pending = records
        var invocations = 0
        while true {
            pending = try await dropAged(pending, shard: shard, invocations: invocations)
            pending = dropExpired(pending, shard: shard)
            if pending.isEmpty { return }
            invocations += 1
            switch try await attempt(pending, shard: shard, window: window) {
            case .done(let state):
                metrics.succeeded(pending.count)
                try await keep(state, in: &window, shard: shard)
                return
            case .partial(let firstFailure, let state):
                metrics.succeeded(firstFailure)
                try await keep(state, in: &window, shard: shard)
                pending = pending.dropFirst(firstFailure)
                if exhausted(invocations) {
                    try await giveUp(pending, shard: shard, condition: .retryAttemptsExhausted, invocations: invocations, statusCode: 200, functionError: nil)
                    return
                }
            case .failed(_, let statusCode):
                if settings.bisectBatchOnFunctionError && pending.count > 1 {
                    // A split is not a retry: each half starts its own count.
                    let middle = pending.startIndex + pending.count / 2
                    try await process(pending[..<middle], shard: shard, window: &window)
                    try await process(pending[middle...], shard: shard, window: &window)
                    return
                }
                if exhausted(invocations) {
                    try await giveUp(pending, shard: shard, condition: .retryAttemptsExhausted, invocations: invocations, statusCode: statusCode, functionError: "Unhandled")
                    return
                }
            }
            try await pause(invocations - 1)
        }
    }

    /// A window's last invocation (no records, `isFinalInvokeForWindow`): retried until it
    /// succeeds, as Lambda holds the shard until it does.
    func finish(_ window: Window, shard: Int, terminatedEarly: Bool = false) async throws {
        var attempts = 0
        while true {
            if case .failed = try await attempt([], shard: shard, window: window, final: true, terminatedEarly: terminatedEarly) {
                try await pause(attempts)
                attempts += 1
                continue
            }
            return
        }
    }

    private func exhausted(_ invocations: Int) -> Bool {
        settings.maximumRetryAttempts >= 0 && invocations > settings.maximumRetryAttempts
    }

    /// Takes the window's new state; a state over 1 MiB ends the window early (a final
    /// invocation with it, then the window goes on with `{}`).
    private func keep(_ state: [UInt8]?, in window: inout Window?, shard: Int) async throws {
        guard let state, var current = window else { return }
        current.state = state
        if state.count > FunctionAnswer.maxStateBytes {
            try await finish(current, shard: shard, terminatedEarly: true)
            current.state = Array("{}".utf8)
        }
        window = current
    }

    /// One invocation of `records` (with the window's state), its answer read.
    func attempt(_ records: ArraySlice<StoredRecord>, shard: Int, window: Window?, final: Bool = false, terminatedEarly: Bool = false) async throws -> Attempt {
        let eventWindow = window.map {
            KinesisEvent.Window(startMillis: $0.startMillis, endMillis: $0.endMillis, state: $0.state, isFinalInvokeForWindow: final, isWindowTerminatedEarly: terminatedEarly)
        }
        let body = event.encode(shardIndex: shard, records: records, window: eventWindow)
        var acquired = false
        if let limit {
            if try await limit.acquire() { metrics.throttled() }
            acquired = true
        }
        defer { if acquired { limit?.release() } }
        let now = clock()
        if let last = records.last { metrics.iteratorAge.record(max(0, now.subtractingSaturating(last.timestampMillis))) }
        let requestId = UUID().uuidString.lowercased()
        let timeoutMillis = Int64(settings.timeout / .milliseconds(1))
        metrics.started()
        let started = ContinuousClock.now
        let result = await handler.invoke(Invocation(requestId: requestId, event: body, deadlineMillis: now + timeoutMillis))
        let nanos = Int64((ContinuousClock.now - started) / .nanoseconds(1))
        if Task.isCancelled {
            metrics.ended(nanoseconds: nanos, error: nil, at: clock())
            throw CancellationError()
        }
        let outcome: Attempt
        switch result {
        case .failed(let problem, let statusCode):
            outcome = .failed(problem: problem, statusCode: statusCode)
        case .answered(let output):
            let sequences = records.map { SequenceNumber(shardIndex: shard, offset: $0.offset).description }
            do {
                let answer = try FunctionAnswer.read(output, sequenceNumbers: sequences, reportsItemFailures: settings.reportBatchItemFailures, windowed: window != nil)
                outcome = answer.firstFailure.map { .partial(firstFailure: $0, state: answer.state) } ?? .done(state: answer.state)
            } catch {
                outcome = .failed(problem: "malformed answer: \(error)", statusCode: 200)
            }
        }
        if case .failed(let problem, _) = outcome {
            metrics.ended(nanoseconds: nanos, error: problem, at: clock())
            failureLog.log(logger, .warning, "function error; the batch is retried", metadata: [
                "function": "\(settings.name)", "shard": "\(ShardID.string(shard))", "records": "\(records.count)",
                "request_id": "\(requestId)", "problem": "\(problem)",
            ])
        } else {
            metrics.ended(nanoseconds: nanos, error: nil, at: clock())
        }
        return outcome
    }

    /// Gives up on the leading records older than `maximum_record_age_seconds`.
    private func dropAged(_ records: ArraySlice<StoredRecord>, shard: Int, invocations: Int) async throws -> ArraySlice<StoredRecord> {
        guard settings.maximumRecordAgeSeconds >= 0 else { return records }
        let cutoff = clock() - Int64(settings.maximumRecordAgeSeconds) * 1000
        let aged = records.prefix { $0.timestampMillis < cutoff }
        guard !aged.isEmpty else { return records }
        try await giveUp(aged, shard: shard, condition: .recordAgeExceeded, invocations: invocations, statusCode: 200, functionError: nil)
        return records.dropFirst(aged.count)
    }

    /// Counts and skips the leading records the stream's retention deleted meanwhile.
    private func dropExpired(_ records: ArraySlice<StoredRecord>, shard: Int) -> ArraySlice<StoredRecord> {
        let expired = records.prefix { isExpired(shard, $0.offset) }
        guard !expired.isEmpty else { return records }
        metrics.expiredRecords(expired.count)
        logger.error("records expired from the stream before the function processed them", metadata: [
            "function": "\(settings.name)", "shard": "\(ShardID.string(shard))", "records": "\(expired.count)",
            "first_sequence_number": "\(SequenceNumber(shardIndex: shard, offset: expired.first!.offset))",
        ])
        return records.dropFirst(expired.count)
    }

    private func giveUp(
        _ records: ArraySlice<StoredRecord>, shard: Int, condition: FailureRecord.Condition, invocations: Int, statusCode: Int, functionError: String?
    ) async throws {
        let record = FailureRecord(
            condition: condition, invokeCount: invocations, statusCode: statusCode, functionError: functionError,
            shardIndex: shard, records: records, nowMillis: clock()
        )
        try await sink.deliver(record.encode(settings: settings), partitionKey: ShardID.string(shard))
        metrics.gaveUp(records.count, described: hasFailureDestination)
        logger.warning("records given up on\(hasFailureDestination ? " and described to on_failure" : " (no on_failure: discarded)")", metadata: [
            "function": "\(settings.name)", "shard": "\(ShardID.string(shard))", "records": "\(records.count)",
            "condition": "\(condition.rawValue)", "invocations": "\(invocations)",
            "first_sequence_number": "\(SequenceNumber(shardIndex: shard, offset: records.first!.offset))",
        ])
    }
}
