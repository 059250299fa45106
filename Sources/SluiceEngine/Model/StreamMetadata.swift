/// What `stream.json` holds (FORMAT.md, "Stream metadata"): everything about a stream
/// except its records.
public struct StreamMetadata: Codable, Sendable, Equatable {
    public var name: String
    public var createdAtMillis: Int64
    public var retentionHours: Int
    public var status: String
    public var mode: String
    public var encryptionType: String
    public var keyId: String?
    public var tags: [String: String]
    public var shards: [ShardMetadata]
    public var enhancedMetrics: [String]
    /// Enhanced fan-out consumers (absent in metadata written before they existed).
    public var consumers: [ConsumerMetadata]?
    /// The stream's resource policy document (PutResourcePolicy), as put; nil: none.
    public var resourcePolicy: String?

    public var openShards: [ShardMetadata] { shards.filter(\.isOpen) }
}

/// One shard, open or closed.
public struct ShardMetadata: Codable, Sendable, Equatable {
    public var index: Int
    public var hashKeyStart: String
    public var hashKeyEnd: String
    public var parentIndex: Int?
    public var adjacentParentIndex: Int?
    public var startingOffset: UInt64
    /// One past the last offset the shard holds, set once its last append is durable.
    public var endOffset: UInt64?
    public var createdAtMillis: Int64
    /// When resharding closed the shard (new records go to its children from then on).
    public var closedAtMillis: Int64?

    public var id: String { ShardID.string(index) }
    public var hashKeyRange: ClosedRange<UInt128> { UInt128(hashKeyStart)!...UInt128(hashKeyEnd)! }
    public var isOpen: Bool { closedAtMillis == nil }
    public var startingSequenceNumber: SequenceNumber { SequenceNumber(shardIndex: index, offset: startingOffset) }
    public var endingSequenceNumber: SequenceNumber? {
        endOffset.map { SequenceNumber(shardIndex: index, offset: max($0, startingOffset + 1) - 1) }
    }
}

/// A registered enhanced fan-out consumer.
public struct ConsumerMetadata: Codable, Sendable, Equatable {
    public var name: String
    public var createdAtMillis: Int64
    /// The consumer's resource policy document, as put; nil: none.
    public var resourcePolicy: String?
    /// TagResource on the consumer's ARN (absent before consumers had tags).
    public var tags: [String: String]?

    public init(name: String, createdAtMillis: Int64) {
        self.name = name
        self.createdAtMillis = createdAtMillis
    }
}
