import FoundationEssentials
import Metrics
import SluiceEngine
import SluiceKinesis
import SluiceStorage

/// Record actions: put, iterators, get.
extension KinesisDispatcher {
    func putRecord(_ input: ReceivedRecord) async throws -> PutRecordOutput {
        let stream = try name(input.StreamName, input.StreamARN)
        let result = try await engine.writer.putRecord(stream: stream, record: input.record)
        Counter(label: "PutRecord.Success", dimensions: [("stream", stream)]).increment()
        return PutRecordOutput(ShardId: result.shardId, SequenceNumber: result.sequenceNumber, EncryptionType: try encryptionType(stream))
    }

    func putRecords(_ input: ReceivedPutRecords) async throws -> PutRecordsOutput {
        let stream = try name(input.StreamName, input.StreamARN)
        let payload = input.Records.reduce(0) { $0 + $1.record.size }
        if payload > KinesisLimits.maxPutRecordsPayload {
            throw KinesisError(type: "InvalidArgumentException", message: "Records size \(payload) bytes exceeds the PutRecords limit of \(KinesisLimits.maxPutRecordsPayload) bytes per request.")
        }
        let outcomes = try await engine.writer.putRecords(stream: stream, records: input.Records.map(\.record))
        var failed = 0
        let entries = outcomes.map { outcome -> PutRecordsResultEntry in
            switch outcome {
            case .stored(let sequence):
                return PutRecordsResultEntry(SequenceNumber: sequence.description, ShardId: ShardID.string(sequence.shardIndex))
            case .failed(let error):
                failed += 1
                return PutRecordsResultEntry(ErrorCode: error.kind.rawValue, ErrorMessage: error.message)
            }
        }
        let dimensions = [("stream", stream)]
        Counter(label: "PutRecords.Success", dimensions: dimensions).increment()
        Counter(label: "PutRecords.TotalRecords", dimensions: dimensions).increment(by: entries.count)
        Counter(label: "PutRecords.SuccessfulRecords", dimensions: dimensions).increment(by: entries.count - failed)
        Counter(label: "PutRecords.FailedRecords", dimensions: dimensions).increment(by: failed)
        return PutRecordsOutput(FailedRecordCount: failed, Records: entries, EncryptionType: try encryptionType(stream))
    }

    func encryptionType(_ stream: String) throws -> String {
        try engine.catalog.metadata(of: stream).encryptionType
    }

    func getShardIterator(_ input: GetShardIteratorInput) throws -> GetShardIteratorOutput {
        let stream = try name(input.StreamName, input.StreamARN)
        let start: IteratorStart
        switch input.ShardIteratorType {
        case "TRIM_HORIZON": start = .trimHorizon
        case "LATEST": start = .latest
        case "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER":
            guard let sequence = input.StartingSequenceNumber else {
                throw KinesisError(type: "InvalidArgumentException", message: "Must specify StartingSequenceNumber for \(input.ShardIteratorType) shard iterator type.")
            }
            start = input.ShardIteratorType == "AT_SEQUENCE_NUMBER" ? .atSequenceNumber(sequence) : .afterSequenceNumber(sequence)
        case "AT_TIMESTAMP":
            guard let timestamp = input.Timestamp else {
                throw KinesisError(type: "InvalidArgumentException", message: "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP.")
            }
            start = .atTimestamp(millis: try RequestNumbers.epochMillis(timestamp, field: "Timestamp"))
        default:
            throw KinesisError(type: "ValidationException", message: "1 validation error detected: Value '\(input.ShardIteratorType)' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER, AT_TIMESTAMP, TRIM_HORIZON, LATEST]")
        }
        return GetShardIteratorOutput(ShardIterator: try engine.reader.shardIterator(stream: stream, shardId: input.ShardId, start: start))
    }

    func getRecords(_ input: GetRecordsInput) throws -> GetRecordsOutput {
        let result = try engine.reader.getRecords(iterator: input.ShardIterator, limit: input.Limit)
        return GetRecordsOutput(
            Records: result.records.map { recordShape(StoredRecordView(shardIndex: result.shardIndex, record: $0)) },
            NextShardIterator: result.nextShardIterator,
            MillisBehindLatest: result.millisBehindLatest,
            ChildShards: result.nextShardIterator == nil ? childShardShapes(result.childShards) : nil
        )
    }
}
