import SluiceStorage

/// A shard that follows a closed shard, listed at the end of the parent.
public struct ChildShard: Sendable, Equatable {
    public var shardId: String
    public var parentShards: [String]
    public var hashKeyRange: ClosedRange<UInt128>
}

/// What one GetRecords returns.
public struct GetRecordsResult: Sendable {
    public var shardIndex: Int
    public var records: [StoredRecord]
    /// nil once a closed shard has been read to its end.
    public var nextShardIterator: String?
    public var millisBehindLatest: Int64
    public var childShards: [ChildShard]
}

