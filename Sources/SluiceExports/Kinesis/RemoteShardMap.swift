import Logging
import SluiceEngine
import SluiceKinesis
import SluiceStorage
import Synchronization

/// The remote stream's open shards (ListShards), read again every `refresh` so an export
/// follows a remote that resharded: its pacing then meters the shards that exist.
final class RemoteShardMap: Sendable {
    let client: KinesisClient
    let stream: String
    let refresh: Duration
    let logger: Logger
    private let cached = Mutex<(map: ShardMap, at: ContinuousClock.Instant)?>(nil)

    init(client: KinesisClient, stream: String, refresh: Duration, logger: Logger) {
        self.client = client
        self.stream = stream
        self.refresh = refresh
        self.logger = logger
    }

    /// The map, from the cache while it is fresh.
    func current() async throws -> ShardMap {
        if let cached = cached.withLock({ $0 }), ContinuousClock.now - cached.at < refresh { return cached.map }
        return try await reload()
    }

    /// Forgets the cached map (the remote answered as if it changed).
    func invalidate() { cached.withLock { $0 = nil } }

    private func reload() async throws -> ShardMap {
        let shards = try await client.listShards(stream)
        var entries: [ShardMap.Entry] = []
        for shard in shards where shard.SequenceNumberRange.EndingSequenceNumber == nil {
            guard let index = ShardID.index(shard.ShardId), let low = UInt128(shard.HashKeyRange.StartingHashKey),
                  let high = UInt128(shard.HashKeyRange.EndingHashKey), low <= high else { continue }
            let parents = [shard.ParentShardId, shard.AdjacentParentShardId].compactMap { $0.flatMap(ShardID.index) }
            entries.append(.init(shardId: shard.ShardId, index: index, hashKeyRange: low...high, parentIndexes: parents))
        }
        guard !entries.isEmpty else {
            throw EngineError(.resourceNotFound, "remote stream \(stream) lists no open shard")
        }
        // The version names the set of open shards: it changes exactly when they do.
        let version = UInt64(CRC32C.checksum(Array(entries.map(\.shardId).sorted().joined(separator: ",").utf8)))
        let map = ShardMap(stream: stream, version: version, open: entries)
        let previous = cached.withLock { c -> ShardMap? in
            defer { c = (map, .now) }
            return c?.map
        }
        if let previous, previous.version != map.version {
            logger.info("remote stream resharded; pacing follows its new shards", metadata: [
                "stream": "\(stream)", "open_shards": "\(map.open.count)",
            ])
        }
        return map
    }
}
