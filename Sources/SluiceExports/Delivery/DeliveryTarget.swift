import FoundationEssentials
import SluiceEngine
import SluiceKinesis
import SluiceStorage

/// A record on its way out, with the shard it came from (its sequence number's other half).
public struct BufferedRecord: Sendable, Equatable {
    public var record: StoredRecord
    public var shardIndex: Int

    public init(record: StoredRecord, shardIndex: Int) {
        self.record = record
        self.shardIndex = shardIndex
    }

    public var sequenceNumber: String { SequenceNumber(shardIndex: shardIndex, offset: record.offset).description }
}

/// A closed buffer: the records of one object (or one delivery to an HTTP endpoint).
public struct ClosedBuffer: Sendable {
    public var records: [BufferedRecord]
    /// The arrival time of its first record (the prefix's `!{timestamp:…}`).
    public var firstArrival: Int64
    public var partition: Partition
    /// For error objects: `processing-failed`, `http-endpoint-failed`, `partitioning-failed`.
    public var errorOutputType: String?

    public init(records: [BufferedRecord], firstArrival: Int64, partition: Partition = Partition(), errorOutputType: String? = nil) {
        self.records = records
        self.firstArrival = firstArrival
        self.partition = partition
        self.errorOutputType = errorOutputType
    }

    public var byteCount: Int { records.reduce(0) { $0 + $1.record.data.count } }
}

/// A record that could not be delivered or transformed: it goes to the error output as
/// Firehose's error record (OBJECTS.md, "Errors").
public struct FailedRecord: Sendable, Equatable {
    public var source: BufferedRecord
    public var outputType: String
    public var errorCode: String
    public var errorMessage: String
    public var attemptsMade: Int
    public var attemptEndingMillis: Int64

    public init(source: BufferedRecord, outputType: String, errorCode: String, errorMessage: String, attemptsMade: Int, attemptEndingMillis: Int64) {
        self.source = source
        self.outputType = outputType
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.attemptsMade = attemptsMade
        self.attemptEndingMillis = attemptEndingMillis
    }

    /// Firehose's error record, one JSON line; `rawData` is the record as the stream holds it.
    public var jsonLine: [UInt8] {
        var line = "{\"attemptsMade\":\(attemptsMade),\"arrivalTimestamp\":\(source.record.timestampMillis),"
        line += "\"errorCode\":\(JSONText.quoted(errorCode)),\"errorMessage\":\(JSONText.quoted(errorMessage)),"
        line += "\"attemptEndingTimestamp\":\(attemptEndingMillis),\"rawData\":\"\(Data(source.record.data).base64EncodedString())\","
        line += "\"sequenceNumber\":\"\(source.sequenceNumber)\",\"partitionKey\":\(JSONText.quoted(source.record.partitionKey)),"
        line += "\"shardId\":\"\(ShardID.string(source.shardIndex))\"}\n"
        return Array(line.utf8)
    }

    /// The failure as a record of the error output: its data is the error JSON line, its
    /// arrival time and position are the source record's.
    var errorRecord: BufferedRecord {
        var record = source
        record.record.data = jsonLine
        return record
    }
}

/// Where closed buffers go: an object store under a prefix, or an HTTP endpoint.
public protocol DeliveryTarget: Sendable {
    /// For logs and status: what and where, never a secret.
    var description: String { get }
    /// Firehose's metric name stem: `DeliveryToS3`, `DeliveryToHttpEndpoint`, `DeliveryToFiles`.
    var metricName: String { get }
    /// Delivers one closed buffer, retrying as its kind does; returns the records it gave
    /// up on (which go to the error output). Throws only `CancellationError`.
    func deliver(_ buffer: ClosedBuffer) async throws -> [FailedRecord]
    /// The name of the last object (or request) delivered, for status.
    var lastDelivered: String? { get }
    /// Why the latest attempt failed (nil once one succeeded).
    var failure: String? { get }
    /// Clears what a crash left (see `ObjectStore.removeLeftovers`).
    func prepare() async throws
    func shutdown() async
}
