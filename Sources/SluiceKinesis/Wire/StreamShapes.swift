import FoundationEssentials

public struct StreamModeDetailsShape: Codable, Sendable {
    public var StreamMode: String
    public init(StreamMode: String) { self.StreamMode = StreamMode }
}

public struct CreateStreamInput: Codable, Sendable {
    public var StreamName: String
    public var ShardCount: Int?
    public var StreamModeDetails: StreamModeDetailsShape?
    public var Tags: [String: String]?
    /// Records up to this size (KiB); sluiced stores records up to 1 MiB (1024).
    public var MaxRecordSizeInKiB: Int?

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

    public init(StartingSequenceNumber: String, EndingSequenceNumber: String? = nil) {
        self.StartingSequenceNumber = StartingSequenceNumber
        self.EndingSequenceNumber = EndingSequenceNumber
    }
}

public struct ShardShape: Codable, Sendable {
    public var ShardId: String
    public var ParentShardId: String?
    public var AdjacentParentShardId: String?
    public var HashKeyRange: HashKeyRangeShape
    public var SequenceNumberRange: SequenceNumberRangeShape

    public init(ShardId: String, ParentShardId: String? = nil, AdjacentParentShardId: String? = nil, HashKeyRange: HashKeyRangeShape, SequenceNumberRange: SequenceNumberRangeShape) {
        self.ShardId = ShardId
        self.ParentShardId = ParentShardId
        self.AdjacentParentShardId = AdjacentParentShardId
        self.HashKeyRange = HashKeyRange
        self.SequenceNumberRange = SequenceNumberRange
    }
}

public struct EnhancedMetricsShape: Codable, Sendable {
    public var ShardLevelMetrics: [String]

    public init(ShardLevelMetrics: [String]) {
        self.ShardLevelMetrics = ShardLevelMetrics
    }
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

    public init(StreamName: String, StreamARN: String, StreamStatus: String, StreamModeDetails: StreamModeDetailsShape, Shards: [ShardShape], HasMoreShards: Bool, RetentionPeriodHours: Int, StreamCreationTimestamp: Double, EnhancedMonitoring: [EnhancedMetricsShape], EncryptionType: String, KeyId: String? = nil) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.StreamStatus = StreamStatus
        self.StreamModeDetails = StreamModeDetails
        self.Shards = Shards
        self.HasMoreShards = HasMoreShards
        self.RetentionPeriodHours = RetentionPeriodHours
        self.StreamCreationTimestamp = StreamCreationTimestamp
        self.EnhancedMonitoring = EnhancedMonitoring
        self.EncryptionType = EncryptionType
        self.KeyId = KeyId
    }
}

public struct DescribeStreamOutput: Codable, Sendable {
    public var StreamDescription: StreamDescriptionShape

    public init(StreamDescription: StreamDescriptionShape) {
        self.StreamDescription = StreamDescription
    }
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
    /// The largest record the stream takes, in KiB (sluiced: always 1024).
    public var MaxRecordSizeInKiB: Int = 1024

    public init(StreamName: String, StreamARN: String, StreamStatus: String, StreamModeDetails: StreamModeDetailsShape, RetentionPeriodHours: Int, StreamCreationTimestamp: Double, EnhancedMonitoring: [EnhancedMetricsShape], EncryptionType: String, KeyId: String? = nil, OpenShardCount: Int, ConsumerCount: Int) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.StreamStatus = StreamStatus
        self.StreamModeDetails = StreamModeDetails
        self.RetentionPeriodHours = RetentionPeriodHours
        self.StreamCreationTimestamp = StreamCreationTimestamp
        self.EnhancedMonitoring = EnhancedMonitoring
        self.EncryptionType = EncryptionType
        self.KeyId = KeyId
        self.OpenShardCount = OpenShardCount
        self.ConsumerCount = ConsumerCount
    }
}

public struct DescribeStreamSummaryOutput: Codable, Sendable {
    public var StreamDescriptionSummary: StreamDescriptionSummaryShape

    public init(StreamDescriptionSummary: StreamDescriptionSummaryShape) {
        self.StreamDescriptionSummary = StreamDescriptionSummary
    }
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

    public init(StreamName: String, StreamARN: String, StreamStatus: String, StreamModeDetails: StreamModeDetailsShape, StreamCreationTimestamp: Double) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.StreamStatus = StreamStatus
        self.StreamModeDetails = StreamModeDetails
        self.StreamCreationTimestamp = StreamCreationTimestamp
    }
}

public struct ListStreamsOutput: Codable, Sendable {
    public var StreamNames: [String]
    public var HasMoreStreams: Bool
    public var NextToken: String?
    public var StreamSummaries: [StreamSummaryShape]

    public init(StreamNames: [String], HasMoreStreams: Bool, NextToken: String? = nil, StreamSummaries: [StreamSummaryShape]) {
        self.StreamNames = StreamNames
        self.HasMoreStreams = HasMoreStreams
        self.NextToken = NextToken
        self.StreamSummaries = StreamSummaries
    }
}

public struct ShardFilterShape: Codable, Sendable {
    public var `Type`: String
    public var ShardId: String?
    public var Timestamp: Double?

    public init(`Type`: String, ShardId: String? = nil, Timestamp: Double? = nil) {
        self.`Type` = `Type`
        self.ShardId = ShardId
        self.Timestamp = Timestamp
    }
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

    public init(Shards: [ShardShape], NextToken: String? = nil) {
        self.Shards = Shards
        self.NextToken = NextToken
    }
}

public struct RetentionInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var RetentionPeriodHours: Int

    public init(StreamName: String? = nil, StreamARN: String? = nil, RetentionPeriodHours: Int) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.RetentionPeriodHours = RetentionPeriodHours
    }
}

public struct AddTagsInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var Tags: [String: String]

    public init(StreamName: String? = nil, StreamARN: String? = nil, Tags: [String: String]) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.Tags = Tags
    }
}

public struct RemoveTagsInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var TagKeys: [String]

    public init(StreamName: String? = nil, StreamARN: String? = nil, TagKeys: [String]) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.TagKeys = TagKeys
    }
}

public struct ListTagsInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var ExclusiveStartTagKey: String?
    public var Limit: Int?

    public init(StreamName: String? = nil, StreamARN: String? = nil, ExclusiveStartTagKey: String? = nil, Limit: Int? = nil) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.ExclusiveStartTagKey = ExclusiveStartTagKey
        self.Limit = Limit
    }
}

public struct TagShape: Codable, Sendable {
    public var Key: String
    public var Value: String?

    public init(Key: String, Value: String? = nil) {
        self.Key = Key
        self.Value = Value
    }
}

public struct ListTagsOutput: Codable, Sendable {
    public var Tags: [TagShape]
    public var HasMoreTags: Bool

    public init(Tags: [TagShape], HasMoreTags: Bool) {
        self.Tags = Tags
        self.HasMoreTags = HasMoreTags
    }
}

public struct DescribeLimitsOutput: Codable, Sendable {
    public var ShardLimit: Int
    public var OpenShardCount: Int
    public var OnDemandStreamCount: Int
    public var OnDemandStreamCountLimit: Int

    public init(ShardLimit: Int, OpenShardCount: Int, OnDemandStreamCount: Int, OnDemandStreamCountLimit: Int) {
        self.ShardLimit = ShardLimit
        self.OpenShardCount = OpenShardCount
        self.OnDemandStreamCount = OnDemandStreamCount
        self.OnDemandStreamCountLimit = OnDemandStreamCountLimit
    }
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

    public init(StreamName: String? = nil, StreamARN: String? = nil, EncryptionType: String, KeyId: String) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.EncryptionType = EncryptionType
        self.KeyId = KeyId
    }
}

public struct SplitShardInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var ShardToSplit: String
    public var NewStartingHashKey: String

    public init(StreamName: String? = nil, StreamARN: String? = nil, ShardToSplit: String, NewStartingHashKey: String) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.ShardToSplit = ShardToSplit
        self.NewStartingHashKey = NewStartingHashKey
    }
}

public struct MergeShardsInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var ShardToMerge: String
    public var AdjacentShardToMerge: String

    public init(StreamName: String? = nil, StreamARN: String? = nil, ShardToMerge: String, AdjacentShardToMerge: String) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.ShardToMerge = ShardToMerge
        self.AdjacentShardToMerge = AdjacentShardToMerge
    }
}

public struct UpdateShardCountInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var TargetShardCount: Int
    public var ScalingType: String

    public init(StreamName: String? = nil, StreamARN: String? = nil, TargetShardCount: Int, ScalingType: String) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.TargetShardCount = TargetShardCount
        self.ScalingType = ScalingType
    }
}

public struct UpdateShardCountOutput: Codable, Sendable {
    public var StreamName: String
    public var StreamARN: String
    public var CurrentShardCount: Int
    public var TargetShardCount: Int

    public init(StreamName: String, StreamARN: String, CurrentShardCount: Int, TargetShardCount: Int) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.CurrentShardCount = CurrentShardCount
        self.TargetShardCount = TargetShardCount
    }
}

public struct UpdateStreamModeInput: Codable, Sendable {
    public var StreamARN: String
    public var StreamModeDetails: StreamModeDetailsShape

    public init(StreamARN: String, StreamModeDetails: StreamModeDetailsShape) {
        self.StreamARN = StreamARN
        self.StreamModeDetails = StreamModeDetails
    }
}

public struct EnhancedMonitoringInput: Codable, Sendable {
    public var StreamName: String?
    public var StreamARN: String?
    public var ShardLevelMetrics: [String]

    public init(StreamName: String? = nil, StreamARN: String? = nil, ShardLevelMetrics: [String]) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.ShardLevelMetrics = ShardLevelMetrics
    }
}

public struct EnhancedMonitoringOutput: Codable, Sendable {
    public var StreamName: String
    public var StreamARN: String
    public var CurrentShardLevelMetrics: [String]
    public var DesiredShardLevelMetrics: [String]

    public init(StreamName: String, StreamARN: String, CurrentShardLevelMetrics: [String], DesiredShardLevelMetrics: [String]) {
        self.StreamName = StreamName
        self.StreamARN = StreamARN
        self.CurrentShardLevelMetrics = CurrentShardLevelMetrics
        self.DesiredShardLevelMetrics = DesiredShardLevelMetrics
    }
}
