import Foundation

// The AWS JSON 1.1 shapes of Kinesis (API version 2013-12-02). Property names are the
// wire member names, PascalCase as AWS spells them, so Codable needs no key mapping.
// Blobs are `Data` (base64 on the wire); timestamps are epoch seconds as numbers.

public struct PutRecordInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var Data: Data
    public var PartitionKey: String
    public var ExplicitHashKey: String?
    public var SequenceNumberForOrdering: String?

    public init(StreamName: String?, StreamARN: String? = nil, Data: Data, PartitionKey: String, ExplicitHashKey: String? = nil) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.Data = Data
        self.PartitionKey = PartitionKey
        self.ExplicitHashKey = ExplicitHashKey
    }
}

public struct PutRecordOutput: Codable, Sendable {
    public var ShardId: String
    public var SequenceNumber: String
    public var EncryptionType: String?
}

public struct PutRecordsRequestEntry: Codable, Sendable {
    public var Data: Data
    public var PartitionKey: String
    public var ExplicitHashKey: String?

    public init(Data: Data, PartitionKey: String, ExplicitHashKey: String? = nil) {
        self.Data = Data
        self.PartitionKey = PartitionKey
        self.ExplicitHashKey = ExplicitHashKey
    }
}

public struct PutRecordsInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var Records: [PutRecordsRequestEntry]

    public init(StreamName: String?, StreamARN: String? = nil, Records: [PutRecordsRequestEntry]) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.Records = Records
    }
}

public struct PutRecordsResultEntry: Codable, Sendable {
    public var SequenceNumber: String?
    public var ShardId: String?
    public var ErrorCode: String?
    public var ErrorMessage: String?
}

public struct PutRecordsOutput: Codable, Sendable {
    public var FailedRecordCount: Int
    public var Records: [PutRecordsResultEntry]
    public var EncryptionType: String?
}

public struct GetShardIteratorInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var ShardId: String
    public var ShardIteratorType: String
    public var StartingSequenceNumber: String?
    public var Timestamp: Double?

    public init(StreamName: String?, ShardId: String, ShardIteratorType: String,
                StartingSequenceNumber: String? = nil, Timestamp: Double? = nil) {
        self.StreamName = StreamName
        self.ShardId = ShardId
        self.ShardIteratorType = ShardIteratorType
        self.StartingSequenceNumber = StartingSequenceNumber
        self.Timestamp = Timestamp
    }
}

public struct GetShardIteratorOutput: Codable, Sendable {
    public var ShardIterator: String
}

public struct GetRecordsInput: Codable, Sendable {
    public var ShardIterator: String
    public var Limit: Int?
    public var StreamARN: String?

    public init(ShardIterator: String, Limit: Int? = nil) {
        self.ShardIterator = ShardIterator
        self.Limit = Limit
    }
}

public struct RecordShape: Codable, Sendable {
    public var SequenceNumber: String
    public var ApproximateArrivalTimestamp: Double
    public var Data: Data
    public var PartitionKey: String
    public var EncryptionType: String?
}

public struct HashKeyRangeShape: Codable, Sendable {
    public var StartingHashKey: String
    public var EndingHashKey: String
}

public struct ChildShardShape: Codable, Sendable {
    public var ShardId: String
    public var ParentShards: [String]
    public var HashKeyRange: HashKeyRangeShape
}

public struct GetRecordsOutput: Codable, Sendable {
    public var Records: [RecordShape]
    public var NextShardIterator: String?
    public var MillisBehindLatest: Int64?
    public var ChildShards: [ChildShardShape]?
}

public struct ConsumerShape: Codable, Sendable {
    public var ConsumerName: String
    public var ConsumerARN: String
    public var ConsumerStatus: String
    public var ConsumerCreationTimestamp: Double
    public var StreamARN: String?
}

public struct RegisterStreamConsumerInput: Codable, Sendable {
    public var StreamARN: String
    public var ConsumerName: String
}

public struct RegisterStreamConsumerOutput: Codable, Sendable {
    public var Consumer: ConsumerShape
}

/// DeregisterStreamConsumer and DescribeStreamConsumer name a consumer either way.
public struct ConsumerReference: Codable, Sendable {
    public var StreamARN: String?
    public var ConsumerName: String?
    public var ConsumerARN: String?
}

public struct DescribeStreamConsumerOutput: Codable, Sendable {
    public var ConsumerDescription: ConsumerShape
}

public struct ListStreamConsumersInput: Codable, Sendable {
    public var StreamARN: String
    public var NextToken: String?
    public var MaxResults: Int?
}

public struct ListStreamConsumersOutput: Codable, Sendable {
    public var Consumers: [ConsumerShape]
    public var NextToken: String?
}

public struct StartingPositionShape: Codable, Sendable {
    public var `Type`: String
    public var SequenceNumber: String?
    public var Timestamp: Double?
}

public struct SubscribeToShardInput: Codable, Sendable {
    public var ConsumerARN: String
    public var ShardId: String
    public var StartingPosition: StartingPositionShape
}

public struct SubscribeToShardEventShape: Codable, Sendable {
    public var Records: [RecordShape]
    public var ContinuationSequenceNumber: String?
    public var MillisBehindLatest: Int64
    public var ChildShards: [ChildShardShape]?
}
