import SluiceStorage

/// How the engine stores and meters; `sluiced` fills it from the config file.
public struct EngineOptions: Sendable {
    public var log = LogOptions()
    /// Small flushes of every shard are made durable by one fdatasync of a shared commit
    /// journal (FORMAT.md, "Commit journal") instead of one fsync per shard file.
    public var commitJournal = true
    /// Kinesis' per-shard write limits, answered with ProvisionedThroughputExceeded.
    public var enforceWriteLimits = true
    public var shardWriteBytesPerSecond = KinesisLimits.shardWriteBytesPerSecond
    public var shardWriteRecordsPerSecond = KinesisLimits.shardWriteRecordsPerSecond
    /// Kinesis' per-shard read limits for polling consumers (GetRecords).
    public var enforceReadLimits = true
    public var shardReadCallsPerSecond = KinesisLimits.shardReadCallsPerSecond
    public var shardReadBytesPerSecond = KinesisLimits.shardReadBytesPerSecond
    /// ON_DEMAND streams: a shard whose write rate crosses this share of its limit (or
    /// that throttled anything) is split; adjacent shards under a tenth of it for
    /// `onDemandQuietMillis` are merged back, down to the initial four.
    public var onDemandSplitShare = 0.8
    public var onDemandQuietMillis: Int64 = 600_000
    /// Used in stream ARNs and error messages, as Kinesis does.
    public var region = "us-east-1"
    public var accountId = "000000000000"
    /// Open shards allowed across all streams (DescribeLimits' ShardLimit).
    public var shardLimit = 500
    public var onDemandStreamCountLimit = 50
    /// Master keys for encryption at rest; nil when no key file is configured. With keys,
    /// new streams are encrypted under the default key id.
    public var keys: (any KeyProvider)?

    public init() {}
}
