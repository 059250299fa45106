import Logging
import SluiceStorage
import Synchronization

/// Resharding: SplitShard, MergeShards, UpdateShardCount (uniform scaling).
///
/// A reshard first writes the new shard map (children added, parents marked closed) so
/// that new puts route to the children, then closes the parents' logs, which waits for
/// the appends already in flight, and finally records each parent's end offset. A crash
/// in between is finished at the next start (`StreamCatalog` at open). Parents keep their
/// records until retention; children's sequence numbers are greater than their parents'
/// because their shard indexes are.
public final class Resharder: Sendable {
    let context: EngineContext
    let catalog: StreamCatalog
    let factory: ShardFactory

    init(context: EngineContext, catalog: StreamCatalog, factory: ShardFactory) {
        self.context = context
        self.catalog = catalog
        self.factory = factory
    }

    /// SplitShard: `shardId`'s range is split at `newStartingHashKey` into two children.
    public func splitShard(stream name: String, shardId: String, newStartingHashKey: String) async throws {
        let handle = try catalog.stream(name)
        let parent = try openShardMetadata(shardId, in: handle)
        guard let key = HashKey.parse(newStartingHashKey),
              key > parent.hashKeyRange.lowerBound, key <= parent.hashKeyRange.upperBound else {
            throw EngineError(.invalidArgument, "NewStartingHashKey \(newStartingHashKey) must be greater than the StartingHashKey \(parent.hashKeyStart) and not greater than the EndingHashKey \(parent.hashKeyEnd) of shard \(parent.id) in stream \(name) under account \(context.options.accountId).")
        }
        try checkShardLimit(adding: 1)
        try await reshard(handle, closing: [parent], into: [
            (parent.hashKeyRange.lowerBound...(key - 1), parent.index, nil),
            (key...parent.hashKeyRange.upperBound, parent.index, nil),
        ])
    }

    /// MergeShards: two open shards with adjacent ranges become one.
    public func mergeShards(stream name: String, shardToMerge: String, adjacentShardToMerge: String) async throws {
        let handle = try catalog.stream(name)
        let first = try openShardMetadata(shardToMerge, in: handle)
        let second = try openShardMetadata(adjacentShardToMerge, in: handle)
        let (low, high) = first.hashKeyRange.lowerBound < second.hashKeyRange.lowerBound ? (first, second) : (second, first)
        guard low.hashKeyRange.upperBound != .max, low.hashKeyRange.upperBound + 1 == high.hashKeyRange.lowerBound else {
            throw EngineError(.invalidArgument, "Shards \(first.id) and \(second.id) in stream \(name) under account \(context.options.accountId) are not an adjacent pair of shards eligible for merging")
        }
        try await reshard(handle, closing: [first, second], into: [
            (low.hashKeyRange.lowerBound...high.hashKeyRange.upperBound, first.index, second.index),
        ])
    }

    /// UpdateShardCount with UNIFORM_SCALING: splits open shards at the target's even
    /// boundaries, then merges the pieces of each target range, as Kinesis does, so every
    /// shard has at most two parents. Returns the previous open shard count.
    @discardableResult
    public func updateShardCount(stream name: String, targetShardCount target: Int) async throws -> Int {
        let handle = try catalog.stream(name)
        let current = handle.metadata.openShards.count
        guard target >= 1 else { throw EngineError.length(field: "targetShardCount", value: "\(target)", min: 1) }
        guard target <= current * 2, target * 2 >= current else {
            throw EngineError(.limitExceeded, "UpdateShardCount can at most double or halve the open shard count of stream \(name) in one call (it has \(current); asked for \(target)).")
        }
        guard target != current || !isUniform(handle.metadata.openShards) else { return current }
        try checkShardLimit(adding: max(0, target - current))
        let targets = HashKey.evenRanges(count: target)
        for boundary in targets.dropFirst().map(\.lowerBound) {
            if let piece = handle.metadata.openShards.first(where: { $0.hashKeyRange.lowerBound < boundary && boundary <= $0.hashKeyRange.upperBound }) {
                try await splitShard(stream: name, shardId: piece.id, newStartingHashKey: String(boundary))
            }
        }
        for range in targets {
            while true {
                let pieces = handle.metadata.openShards
                    .filter { range.contains($0.hashKeyRange.lowerBound) }
                    .sorted { $0.hashKeyRange.lowerBound < $1.hashKeyRange.lowerBound }
                guard pieces.count > 1 else { break }
                try await mergeShards(stream: name, shardToMerge: pieces[0].id, adjacentShardToMerge: pieces[1].id)
            }
        }
        return current
    }

    private func isUniform(_ shards: [ShardMetadata]) -> Bool {
        let sorted = shards.sorted { $0.hashKeyRange.lowerBound < $1.hashKeyRange.lowerBound }
        return sorted.map(\.hashKeyRange) == HashKey.evenRanges(count: shards.count)
    }

    private func openShardMetadata(_ shardId: String, in handle: StreamHandle) throws -> ShardMetadata {
        guard let index = ShardID.index(shardId), let shard = handle.metadata.shards.first(where: { $0.index == index }) else {
            throw EngineError(.resourceNotFound, "Could not find shard \(shardId) in stream \(handle.name) under account \(context.options.accountId).")
        }
        guard shard.isOpen else {
            throw EngineError(.resourceInUse, "Shard \(shardId) in stream \(handle.name) under account \(context.options.accountId) has already been merged or split, and thus is not eligible for merging or splitting.")
        }
        return shard
    }

    private func checkShardLimit(adding count: Int) throws {
        let open = catalog.openShardCount
        if open + count > context.options.shardLimit {
            throw EngineError(.limitExceeded, "This request would exceed the shard limit for the account \(context.options.accountId) in \(context.options.region). Current limit of shards is \(context.options.shardLimit). Number of open shards is \(open).")
        }
    }

    /// Closes `parents` and opens `children` (range, parent, adjacent parent).
    private func reshard(
        _ handle: StreamHandle, closing parents: [ShardMetadata],
        into children: [(range: ClosedRange<UInt128>, parent: Int, adjacent: Int?)]
    ) async throws {
        let now = context.clock.nowMillis()
        // One reshard at a time per stream: Kinesis answers ResourceInUse while UPDATING.
        let metadata = try handle.state.withLock { s -> StreamMetadata in
            guard s.metadata.status == "ACTIVE" else {
                throw EngineError(.resourceInUse, "Stream \(s.metadata.name) under account \(context.options.accountId) not ACTIVE, instead in state \(s.metadata.status)")
            }
            s.metadata.status = "UPDATING"
            return s.metadata
        }
        do {
            var next = (metadata.shards.map(\.index).max() ?? -1) + 1
            var newShards: [ShardMetadata] = []
            var handles: [Int: ShardHandle] = [:]
            for child in children {
                let shard = ShardMetadata(
                    index: next, hashKeyStart: String(child.range.lowerBound), hashKeyEnd: String(child.range.upperBound),
                    parentIndex: child.parent, adjacentParentIndex: child.adjacent, startingOffset: 0, createdAtMillis: now
                )
                handles[next] = try factory.open(shard, of: metadata, streamDirectory: handle.directory)
                newShards.append(shard)
                next += 1
            }
            // The new map: from here on puts go to the children.
            try handle.state.withLock { s in
                var updated = s.metadata
                for k in updated.shards.indices where parents.contains(where: { $0.index == updated.shards[k].index }) {
                    updated.shards[k].closedAtMillis = now
                }
                updated.shards += newShards
                try catalog.writeMetadata(updated, directory: handle.directory)
                s.metadata = updated
                s.shards.merge(handles) { $1 }
            }
            try await finishClosingShards(handle)
            context.logger.info("resharded", metadata: [
                "stream": "\(metadata.name)", "closed": "\(parents.map(\.id))", "opened": "\(newShards.map(\.id))",
            ])
        } catch {
            handle.state.withLock { $0.metadata.status = "ACTIVE" }
            throw error
        }
        try handle.state.withLock { s in
            s.metadata.status = "ACTIVE"
            try catalog.writeMetadata(s.metadata, directory: handle.directory)
        }
    }

    /// Closes the logs of shards the map marks closed but that have no end offset yet
    /// (in flight appends finish first) and records where each ends.
    func finishClosingShards(_ handle: StreamHandle) async throws {
        let closing = handle.state.withLock { s in
            s.metadata.shards.filter { !$0.isOpen && $0.endOffset == nil }.compactMap { s.shards[$0.index] }
        }
        guard !closing.isEmpty else { return }
        for shard in closing { try await shard.log.close() }
        try handle.state.withLock { s in
            for k in s.metadata.shards.indices {
                if let shard = closing.first(where: { $0.index == s.metadata.shards[k].index }) {
                    s.metadata.shards[k].endOffset = shard.log.endOffset
                }
            }
            try catalog.writeMetadata(s.metadata, directory: handle.directory)
        }
        // Readers caught up on a parent learn that it has ended (and so its children may be read).
        for shard in closing { shard.notifyAppend() }
    }
}
