import FoundationEssentials

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

    public init(ShardId: String, SequenceNumber: String, EncryptionType: String? = nil) {
        self.ShardId = ShardId
        self.SequenceNumber = SequenceNumber
        self.EncryptionType = EncryptionType
    }
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

    public init(SequenceNumber: String? = nil, ShardId: String? = nil, ErrorCode: String? = nil, ErrorMessage: String? = nil) {
        self.SequenceNumber = SequenceNumber
        self.ShardId = ShardId
        self.ErrorCode = ErrorCode
        self.ErrorMessage = ErrorMessage
    }
}

public struct PutRecordsOutput: Codable, Sendable {
    public var FailedRecordCount: Int
    public var Records: [PutRecordsResultEntry]
    public var EncryptionType: String?

    public init(FailedRecordCount: Int, Records: [PutRecordsResultEntry], EncryptionType: String? = nil) {
        self.FailedRecordCount = FailedRecordCount
        self.Records = Records
        self.EncryptionType = EncryptionType
    }
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

    public init(ShardIterator: String) {
        self.ShardIterator = ShardIterator
    }
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

    public init(SequenceNumber: String, ApproximateArrivalTimestamp: Double, Data: Data, PartitionKey: String, EncryptionType: String? = nil) {
        self.SequenceNumber = SequenceNumber
        self.ApproximateArrivalTimestamp = ApproximateArrivalTimestamp
        self.Data = Data
        self.PartitionKey = PartitionKey
        self.EncryptionType = EncryptionType
    }
}

public struct HashKeyRangeShape: Codable, Sendable {
    public var StartingHashKey: String
    public var EndingHashKey: String

    public init(StartingHashKey: String, EndingHashKey: String) {
        self.StartingHashKey = StartingHashKey
        self.EndingHashKey = EndingHashKey
    }
}

public struct ChildShardShape: Codable, Sendable {
    public var ShardId: String
    public var ParentShards: [String]
    public var HashKeyRange: HashKeyRangeShape

    public init(ShardId: String, ParentShards: [String], HashKeyRange: HashKeyRangeShape) {
        self.ShardId = ShardId
        self.ParentShards = ParentShards
        self.HashKeyRange = HashKeyRange
    }
}

public struct GetRecordsOutput: Codable, Sendable {
    public var Records: [RecordShape]
    public var NextShardIterator: String?
    public var MillisBehindLatest: Int64?
    public var ChildShards: [ChildShardShape]?

    public init(Records: [RecordShape], NextShardIterator: String? = nil, MillisBehindLatest: Int64? = nil, ChildShards: [ChildShardShape]? = nil) {
        self.Records = Records
        self.NextShardIterator = NextShardIterator
        self.MillisBehindLatest = MillisBehindLatest
        self.ChildShards = ChildShards
    }
}

public struct ConsumerShape: Codable, Sendable {
    public var ConsumerName: String
    public var ConsumerARN: String
    public var ConsumerStatus: String
    public var ConsumerCreationTimestamp: Double
    public var StreamARN: String?

    public init(ConsumerName: String, ConsumerARN: String, ConsumerStatus: String, ConsumerCreationTimestamp: Double, StreamARN: String? = nil) {
        self.ConsumerName = ConsumerName
        self.ConsumerARN = ConsumerARN
        self.ConsumerStatus = ConsumerStatus
        self.ConsumerCreationTimestamp = ConsumerCreationTimestamp
        self.StreamARN = StreamARN
    }
}

public struct RegisterStreamConsumerInput: Codable, Sendable {
    public var StreamARN: String
    public var ConsumerName: String

    public init(StreamARN: String, ConsumerName: String) {
        self.StreamARN = StreamARN
        self.ConsumerName = ConsumerName
    }
}

public struct RegisterStreamConsumerOutput: Codable, Sendable {
    public var Consumer: ConsumerShape

    public init(Consumer: ConsumerShape) {
        self.Consumer = Consumer
    }
}

/// DeregisterStreamConsumer and DescribeStreamConsumer name a consumer either way.
public struct ConsumerReference: Codable, Sendable {
    public var StreamARN: String?
    public var ConsumerName: String?
    public var ConsumerARN: String?

    public init(StreamARN: String? = nil, ConsumerName: String? = nil, ConsumerARN: String? = nil) {
        self.StreamARN = StreamARN
        self.ConsumerName = ConsumerName
        self.ConsumerARN = ConsumerARN
    }
}

public struct DescribeStreamConsumerOutput: Codable, Sendable {
    public var ConsumerDescription: ConsumerShape

    public init(ConsumerDescription: ConsumerShape) {
        self.ConsumerDescription = ConsumerDescription
    }
}

public struct ListStreamConsumersInput: Codable, Sendable {
    public var StreamARN: String
    public var NextToken: String?
    public var MaxResults: Int?

    public init(StreamARN: String, NextToken: String? = nil, MaxResults: Int? = nil) {
        self.StreamARN = StreamARN
        self.NextToken = NextToken
        self.MaxResults = MaxResults
    }
}

public struct ListStreamConsumersOutput: Codable, Sendable {
    public var Consumers: [ConsumerShape]
    public var NextToken: String?

    public init(Consumers: [ConsumerShape], NextToken: String? = nil) {
        self.Consumers = Consumers
        self.NextToken = NextToken
    }
}

public struct StartingPositionShape: Codable, Sendable {
    public var `Type`: String
    public var SequenceNumber: String?
    public var Timestamp: Double?

    public init(`Type`: String, SequenceNumber: String? = nil, Timestamp: Double? = nil) {
        self.`Type` = `Type`
        self.SequenceNumber = SequenceNumber
        self.Timestamp = Timestamp
    }
}

public struct SubscribeToShardInput: Codable, Sendable {
    public var ConsumerARN: String
    public var ShardId: String
    public var StartingPosition: StartingPositionShape

    public init(ConsumerARN: String, ShardId: String, StartingPosition: StartingPositionShape) {
        self.ConsumerARN = ConsumerARN
        self.ShardId = ShardId
        self.StartingPosition = StartingPosition
    }
}

public struct SubscribeToShardEventShape: Codable, Sendable {
    public var Records: [RecordShape]
    public var ContinuationSequenceNumber: String?
    public var MillisBehindLatest: Int64
    public var ChildShards: [ChildShardShape]?

    public init(Records: [RecordShape], ContinuationSequenceNumber: String? = nil, MillisBehindLatest: Int64, ChildShards: [ChildShardShape]? = nil) {
        self.Records = Records
        self.ContinuationSequenceNumber = ContinuationSequenceNumber
        self.MillisBehindLatest = MillisBehindLatest
        self.ChildShards = ChildShards
    }
}
