/// A snapshot of which open shard owns which hash keys: what a producer outside the engine
/// (the gateway's limiter) routes with, so it meters exactly the shards the engine will
/// write to. `version` changes whenever the stream's shards do; compare it with
/// `StreamEngine.shardMapVersion(stream:)` to know when to take a new snapshot.
public struct ShardMap: Sendable {
    public struct Entry: Sendable, Equatable {
        public var shardId: String
        public var index: Int
        public var hashKeyRange: ClosedRange<UInt128>
        /// The shards this one was split or merged from, which must drain before it.
        public var parentIndexes: [Int]

        public init(shardId: String, index: Int, hashKeyRange: ClosedRange<UInt128>, parentIndexes: [Int]) {
            self.shardId = shardId
            self.index = index
            self.hashKeyRange = hashKeyRange
            self.parentIndexes = parentIndexes
        }
    }

    public let stream: String
    public let version: UInt64
    /// Open shards, ordered by the start of their hash-key range.
    public let open: [Entry]

    init(stream: String, version: UInt64, shards: [ShardMetadata]) {
        self.stream = stream
        self.version = version
        open = shards.filter(\.isOpen).map {
            Entry(shardId: $0.id, index: $0.index, hashKeyRange: $0.hashKeyRange,
                  parentIndexes: [$0.parentIndex, $0.adjacentParentIndex].compactMap { $0 })
        }.sorted { $0.hashKeyRange.lowerBound < $1.hashKeyRange.lowerBound }
    }

    /// A map of a stream kept elsewhere (a remote Kinesis stream's open shards).
    public init(stream: String, version: UInt64, open entries: [Entry]) {
        self.stream = stream
        self.version = version
        open = entries.sorted { $0.hashKeyRange.lowerBound < $1.hashKeyRange.lowerBound }
    }

    /// The open shard owning `hashKey` (binary search over the sorted ranges).
    public func route(_ hashKey: UInt128) -> Entry? {
        var low = 0
        var high = open.count - 1
        while low <= high {
            let mid = (low + high) / 2
            let range = open[mid].hashKeyRange
            if hashKey < range.lowerBound {
                high = mid - 1
            } else if hashKey > range.upperBound {
                low = mid + 1
            } else {
                return open[mid]
            }
        }
        return nil
    }

    /// The open shard a partition key (or an explicit hash key) routes to.
    public func route(partitionKey: String, explicitHashKey: String? = nil) -> Entry? {
        route(explicitHashKey.flatMap(HashKey.parse) ?? HashKey.of(partitionKey: partitionKey))
    }
}
