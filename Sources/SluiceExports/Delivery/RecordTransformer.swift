import FoundationEssentials
import SluiceEngine
import SluiceKinesis
import SluiceStorage

/// `transform_command`: a local program that transforms each batch with Firehose's data
/// transformation protocol (OBJECTS.md, "Transformation"), so a Firehose processing
/// Lambda's logic runs with a small wrapper. The program reads one JSON event on stdin and
/// writes one JSON answer on stdout; a run that exits non-zero, takes longer than
/// `timeout` or answers something malformed is tried again, `retries` times; then its
/// records go to the error output (`processing-failed`).
public struct RecordTransformer: Sendable, Equatable {
    public var command: [String]
    public var timeout: Duration = .seconds(60)
    public var retries = 3
    public var deliveryStreamArn: String
    public var sourceStreamArn: String
    public var region: String

    public init(command: [String], deliveryStreamArn: String, sourceStreamArn: String, region: String) {
        self.command = command
        self.deliveryStreamArn = deliveryStreamArn
        self.sourceStreamArn = sourceStreamArn
        self.region = region
    }

    public struct Outcome: Sendable {
        /// `Ok` records with their new data, in their order.
        public var transformed: [BufferedRecord] = []
        public var dropped = 0
        public var failed: [FailedRecord] = []
        /// The last run answered well (some records may still have failed by its answer).
        public var invocationSucceeded = false
        public var durationNanos: Int64 = 0
    }

    /// Why a run failed as a whole.
    struct RunFailure: Error {
        var code: String
        var message: String
    }

    /// Runs the command on `records` (retrying whole runs), never throwing for what the
    /// command does; throws `CancellationError` only.
    public func run(_ records: [BufferedRecord]) async throws -> Outcome {
        let start = ContinuousClock.now
        let event = Data(self.event(records).utf8)
        var failure = RunFailure(code: "Transform.CommandFailed", message: "not run")
        for attempt in 1...(retries + 1) {
            try Task.checkCancellation()
            do {
                let output = try await Self.execute(command, input: event, timeout: timeout)
                var outcome = try answer(output, for: records, attempts: attempt)
                outcome.invocationSucceeded = true
                outcome.durationNanos = Int64((ContinuousClock.now - start) / .nanoseconds(1))
                return outcome
            } catch let error as RunFailure {
                failure = error
            }
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var outcome = Outcome()
        outcome.failed = records.map {
            FailedRecord(source: $0, outputType: "processing-failed", errorCode: failure.code, errorMessage: failure.message, attemptsMade: retries + 1, attemptEndingMillis: now)
        }
        outcome.durationNanos = Int64((ContinuousClock.now - start) / .nanoseconds(1))
        return outcome
    }

    /// Firehose's transformation event for records from a Kinesis stream.
    func event(_ records: [BufferedRecord]) -> String {
        var out = "{\"invocationId\":\"\(UUID().uuidString.lowercased())\",\"deliveryStreamArn\":\(JSONText.quoted(deliveryStreamArn)),"
            + "\"sourceKinesisStreamArn\":\(JSONText.quoted(sourceStreamArn)),\"region\":\(JSONText.quoted(region)),\"records\":["
        for (index, item) in records.enumerated() {
            if index > 0 { out += "," }
            let sequence = item.sequenceNumber
            out += "{\"recordId\":\"\(sequence)\",\"approximateArrivalTimestamp\":\(item.record.timestampMillis),"
                + "\"data\":\"\(Data(item.record.data).base64EncodedString())\",\"kinesisRecordMetadata\":{"
                + "\"sequenceNumber\":\"\(sequence)\",\"subsequenceNumber\":0,\"partitionKey\":\(JSONText.quoted(item.record.partitionKey)),"
                + "\"shardId\":\"\(ShardID.string(item.shardIndex))\",\"approximateArrivalTimestamp\":\(item.record.timestampMillis)}}"
        }
        return out + "]}"
    }

    struct Answer: Decodable {
        struct Record: Decodable {
            var recordId: String
            var result: String
            var data: String?
        }

        var records: [Record]
    }

    /// Reads the command's answer: every record of the event exactly once, each `Ok` (with
    /// base64 data), `Dropped` or `ProcessingFailed`. - Throws: `RunFailure` when the
    /// answer as a whole is malformed (the run is tried again).
    func answer(_ output: Data, for records: [BufferedRecord], attempts: Int) throws -> Outcome {
        guard let answer = try? JSONDecoder().decode(Answer.self, from: output) else {
            let text = String(decoding: output.prefix(200), as: UTF8.self)
            throw RunFailure(code: "Transform.InvalidOutput", message: "the command's output is not {\"records\":[{\"recordId\",\"result\",\"data\"}]}: \(text)")
        }
        var byId: [String: Answer.Record] = [:]
        for record in answer.records {
            guard byId.updateValue(record, forKey: record.recordId) == nil else {
                throw RunFailure(code: "Transform.DuplicateRecordId", message: "the command answered recordId \(record.recordId) twice")
            }
        }
        guard byId.count == records.count else {
            let missing = records.first { byId[$0.sequenceNumber] == nil }?.sequenceNumber
            throw RunFailure(
                code: "Transform.MissingRecordId",
                message: missing.map { "the command's answer has no record with recordId \($0)" } ?? "the command answered recordIds it was not given"
            )
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var outcome = Outcome()
        for item in records {
            guard let record = byId[item.sequenceNumber] else {
                throw RunFailure(code: "Transform.MissingRecordId", message: "the command's answer has no record with recordId \(item.sequenceNumber)")
            }
            switch record.result {
            case "Ok":
                guard let text = record.data, let data = Data(base64Encoded: text) else {
                    outcome.failed.append(FailedRecord(
                        source: item, outputType: "processing-failed", errorCode: "Transform.InvalidData",
                        errorMessage: "result Ok without base64 data", attemptsMade: attempts, attemptEndingMillis: now
                    ))
                    continue
                }
                var transformed = item
                transformed.record.data = Array(data)
                outcome.transformed.append(transformed)
            case "Dropped":
                outcome.dropped += 1
            case "ProcessingFailed":
                outcome.failed.append(FailedRecord(
                    source: item, outputType: "processing-failed", errorCode: "Transform.ProcessingFailed",
                    errorMessage: "the command answered ProcessingFailed for this record", attemptsMade: attempts, attemptEndingMillis: now
                ))
            default:
                throw RunFailure(code: "Transform.InvalidOutput", message: "result \"\(record.result)\" for recordId \(record.recordId); use Ok, Dropped or ProcessingFailed")
            }
        }
        return outcome
    }

    /// Runs `command` with `input` on stdin and returns its stdout. - Throws: `RunFailure`
    /// when it cannot start, exits non-zero (with the end of its stderr) or runs past
    /// `timeout`.
    static func execute(_ command: [String], input: Data, timeout: Duration) async throws -> Data {
        do {
            return try await ChildProcess(command: command, timeout: timeout).run(input: input)
        } catch {
            throw RunFailure(code: error.kind == .timedOut ? "Transform.Timeout" : "Transform.CommandFailed", message: error.problem)
        }
    }
}
