/// `stream.json` is read back from a disk, so it is checked before any field is used in
/// arithmetic, as an index or as a hash-key range (where a bad value would trap).
extension StreamMetadata {
    /// The largest shard index a shard id (12 digits) and a sequence number hold.
    static let maxShardIndex = 999_999_999_999

    /// What is wrong with this metadata, or nil when the engine can use it.
    var problem: String? {
        if let error = StreamCatalog.nameProblem(name) { return "stream name: \(error)" }
        guard (KinesisLimits.minRetentionHours...KinesisLimits.maxRetentionHours).contains(retentionHours) else {
            return "retentionHours \(retentionHours) is outside \(KinesisLimits.minRetentionHours)–\(KinesisLimits.maxRetentionHours)"
        }
        guard !shards.isEmpty else { return "it lists no shard" }
        var indexes = Set<Int>()
        for shard in shards {
            guard (0...Self.maxShardIndex).contains(shard.index), indexes.insert(shard.index).inserted else {
                return "shard index \(shard.index) is out of range or listed twice"
            }
            guard let start = UInt128(shard.hashKeyStart), let end = UInt128(shard.hashKeyEnd), start <= end else {
                return "shard \(shard.index) has an invalid hash-key range \(shard.hashKeyStart)…\(shard.hashKeyEnd)"
            }
            if let endOffset = shard.endOffset, endOffset < shard.startingOffset {
                return "shard \(shard.index) ends (offset \(endOffset)) before it starts (offset \(shard.startingOffset))"
            }
        }
        for shard in shards {
            for parent in [shard.parentIndex, shard.adjacentParentIndex].compactMap({ $0 }) where !indexes.contains(parent) {
                return "shard \(shard.index) names parent \(parent), which is not listed"
            }
        }
        // Every hash key must route to exactly one open shard.
        var next: UInt128? = 0
        for shard in openShards.sorted(by: { $0.hashKeyRange.lowerBound < $1.hashKeyRange.lowerBound }) {
            guard let expected = next, shard.hashKeyRange.lowerBound == expected else {
                return "the open shards' hash-key ranges do not cover 0…2^128−1 without gaps or overlaps (at shard \(shard.index))"
            }
            next = shard.hashKeyRange.upperBound == .max ? nil : shard.hashKeyRange.upperBound + 1
        }
        guard next == nil else { return "the open shards' hash-key ranges stop short of 2^128−1" }
        for consumer in consumers ?? [] where consumer.name.isEmpty || consumer.name.count > 128 {
            return "consumer name '\(consumer.name)' is not 1–128 characters"
        }
        return nil
    }
}
