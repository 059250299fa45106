import Foundation

public struct StreamModeDetailsShape: Codable, Sendable {
    public var StreamMode: String
    public init(StreamMode: String) { self.StreamMode = StreamMode }
}

public struct CreateStreamInput: Codable, Sendable {
    public var StreamName: String
    public var ShardCount: Int?
    public var StreamModeDetails: StreamModeDetailsShape?
    public var Tags: [String: String]?

    public init(StreamName: String, ShardCount: Int?, StreamModeDetails: StreamModeDetailsShape? = nil) {
        self.StreamName = StreamName
        self.ShardCount = ShardCount
        self.StreamModeDetails = StreamModeDetails
    }
}

/// The input of every action that only names a stream.
public struct StreamReference: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public init(StreamName: String?, StreamARN: String? = nil) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
    }
}

public struct DescribeStreamInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var Limit: Int?
    public var ExclusiveStartShardId: String?

    public init(StreamName: String?, Limit: Int? = nil, ExclusiveStartShardId: String? = nil) {
        self.StreamName = StreamName
        self.Limit = Limit
        self.ExclusiveStartShardId = ExclusiveStartShardId
    }
}

public struct SequenceNumberRangeShape: Codable, Sendable {
    public var StartingSequenceNumber: String
    public var EndingSequenceNumber: String?
}

public struct ShardShape: Codable, Sendable {
    public var ShardId: String
    public var ParentShardId: String?
    public var AdjacentParentShardId: String?
    public var HashKeyRange: HashKeyRangeShape
    public var SequenceNumberRange: SequenceNumberRangeShape
}

public struct EnhancedMetricsShape: Codable, Sendable {
    public var ShardLevelMetrics: [String]
}

public struct StreamDescriptionShape: Codable, Sendable {
    public var StreamName: String
    public var StreamARN: String
    public var StreamStatus: String
    public var StreamModeDetails: StreamModeDetailsShape
    public var Shards: [ShardShape]
    public var HasMoreShards: Bool
    public var RetentionPeriodHours: Int
    public var StreamCreationTimestamp: Double
    public var EnhancedMonitoring: [EnhancedMetricsShape]
    public var EncryptionType: String
    public var KeyId: String?
}

public struct DescribeStreamOutput: Codable, Sendable {
    public var StreamDescription: StreamDescriptionShape
}

public struct StreamDescriptionSummaryShape: Codable, Sendable {
    public var StreamName: String
    public var StreamARN: String
    public var StreamStatus: String
    public var StreamModeDetails: StreamModeDetailsShape
    public var RetentionPeriodHours: Int
    public var StreamCreationTimestamp: Double
    public var EnhancedMonitoring: [EnhancedMetricsShape]
    public var EncryptionType: String
    public var KeyId: String?
    public var OpenShardCount: Int
    public var ConsumerCount: Int
}

public struct DescribeStreamSummaryOutput: Codable, Sendable {
    public var StreamDescriptionSummary: StreamDescriptionSummaryShape
}

public struct ListStreamsInput: Codable, Sendable {
    public var Limit: Int?
    public var ExclusiveStartStreamName: String?
    public var NextToken: String?
    public init(Limit: Int? = nil, ExclusiveStartStreamName: String? = nil, NextToken: String? = nil) {
        self.Limit = Limit
        self.ExclusiveStartStreamName = ExclusiveStartStreamName
        self.NextToken = NextToken
    }
}

public struct StreamSummaryShape: Codable, Sendable {
    public var StreamName: String
    public var StreamARN: String
    public var StreamStatus: String
    public var StreamModeDetails: StreamModeDetailsShape
    public var StreamCreationTimestamp: Double
}

public struct ListStreamsOutput: Codable, Sendable {
    public var StreamNames: [String]
    public var HasMoreStreams: Bool
    public var NextToken: String?
    public var StreamSummaries: [StreamSummaryShape]
}

public struct ShardFilterShape: Codable, Sendable {
    public var `Type`: String
    public var ShardId: String?
    public var Timestamp: Double?
}

public struct ListShardsInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var NextToken: String?
    public var ExclusiveStartShardId: String?
    public var MaxResults: Int?
    public var ShardFilter: ShardFilterShape?
    public init(StreamName: String?, NextToken: String? = nil, MaxResults: Int? = nil) {
        self.StreamName = StreamName
        self.NextToken = NextToken
        self.MaxResults = MaxResults
    }
}

public struct ListShardsOutput: Codable, Sendable {
    public var Shards: [ShardShape]
    public var NextToken: String?
}

public struct RetentionInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var RetentionPeriodHours: Int
}

public struct AddTagsInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var Tags: [String: String]
}

public struct RemoveTagsInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var TagKeys: [String]
}

public struct ListTagsInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var ExclusiveStartTagKey: String?
    public var Limit: Int?
}

public struct TagShape: Codable, Sendable {
    public var Key: String
    public var Value: String?
}

public struct ListTagsOutput: Codable, Sendable {
    public var Tags: [TagShape]
    public var HasMoreTags: Bool
}

public struct DescribeLimitsOutput: Codable, Sendable {
    public var ShardLimit: Int
    public var OpenShardCount: Int
    public var OnDemandStreamCount: Int
    public var OnDemandStreamCountLimit: Int
}

/// The body of an action that returns nothing.
public struct EmptyShape: Codable, Sendable {
    public init() {}
}

public struct StreamEncryptionInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var EncryptionType: String
    public var KeyId: String
}

public struct SplitShardInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var ShardToSplit: String
    public var NewStartingHashKey: String
}

public struct MergeShardsInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var ShardToMerge: String
    public var AdjacentShardToMerge: String
}

public struct UpdateShardCountInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var TargetShardCount: Int
    public var ScalingType: String
}

public struct UpdateShardCountOutput: Codable, Sendable {
    public var StreamName: String
    public var StreamARN: String
    public var CurrentShardCount: Int
    public var TargetShardCount: Int
}

public struct UpdateStreamModeInput: Codable, Sendable {
    public var StreamARN: String
    public var StreamModeDetails: StreamModeDetailsShape
}

public struct EnhancedMonitoringInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var ShardLevelMetrics: [String]
}

public struct EnhancedMonitoringOutput: Codable, Sendable {
    public var StreamName: String
    public var StreamARN: String
    public var CurrentShardLevelMetrics: [String]
    public var DesiredShardLevelMetrics: [String]
}
