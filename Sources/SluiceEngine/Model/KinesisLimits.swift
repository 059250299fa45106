/// Kinesis' protocol limits, named once (as Fluent Bit's kinesis_api.h does).
public enum KinesisLimits {
    public static let maxPartitionKeyLength = 256
    /// Data plus partition key, per record.
    public static let maxRecordSize = 1 << 20
    public static let maxRecordsPerPutRecords = 500
    public static let maxPutRecordsPayload = 5 << 20
    public static let maxGetRecordsRecords = 10_000
    public static let maxGetRecordsBytes = 10 << 20
    public static let iteratorLifetimeMillis: Int64 = 300_000
    public static let minRetentionHours = 24
    public static let maxRetentionHours = 8_760
    public static let defaultRetentionHours = 24
    public static let shardWriteBytesPerSecond = 1 << 20
    public static let shardWriteRecordsPerSecond = 1_000
    public static let shardReadCallsPerSecond = 5
    public static let shardReadBytesPerSecond = 2 << 20
    public static let maxTagsPerStream = 50
    public static let maxTagsPerCall = 10
    public static let maxStreamNameLength = 128
    public static let onDemandInitialShards = 4
}
