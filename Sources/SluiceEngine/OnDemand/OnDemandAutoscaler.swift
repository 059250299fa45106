import Logging
import SluiceStorage

/// The ON_DEMAND autoscaler: splits hot shards and merges cold neighbours so producers are
/// not throttled by one hot shard. `sluiced` runs a pass every few seconds; it decides from
/// each shard's write window and acts through the resharder.
public final class OnDemandAutoscaler: Sendable {
    let context: EngineContext
    let catalog: StreamCatalog
    let factory: ShardFactory
    let resharder: Resharder

    init(context: EngineContext, catalog: StreamCatalog, factory: ShardFactory, resharder: Resharder) {
        self.context = context
        self.catalog = catalog
        self.factory = factory
        self.resharder = resharder
    }

    /// One autoscaler pass over every ON_DEMAND stream; returns what it did, for the log.
    @discardableResult
    public func scaleOnDemandStreams() async -> [String] {
        let handles = catalog.allStreams.filter { $0.metadata.mode == StreamEngine.CapacityMode.onDemand.rawValue }
        let limits = factory.writeLimits
        let now = context.clock.monotonicNanos()
        var actions: [String] = []
        for handle in handles where handle.metadata.status == "ACTIVE" {
            let open = handle.metadata.openShards.sorted { $0.hashKeyRange.lowerBound < $1.hashKeyRange.lowerBound }
            var cold: [Int: UInt64] = [:]
            var hot: [ShardMetadata] = []
            for shard in open {
                guard let runtime = handle.shard(shard.index)?.1 else { continue }
                let window = runtime.window.take(now: now) { bytes, records in
                    bytes < 0.1 * Double(limits.bytesPerSecond) && records < 0.1 * Double(limits.recordsPerSecond)
                }
                let share = max(window.bytesPerSecond / Double(limits.bytesPerSecond), window.recordsPerSecond / Double(limits.recordsPerSecond))
                if window.throttled > 0 || share >= context.options.onDemandSplitShare {
                    hot.append(shard)
                } else {
                    cold[shard.index] = window.coldFor
                }
            }
            for shard in hot where shard.hashKeyRange.upperBound > shard.hashKeyRange.lowerBound {
                let middle = shard.hashKeyRange.lowerBound + (shard.hashKeyRange.upperBound - shard.hashKeyRange.lowerBound) / 2 + 1
                do {
                    try await resharder.splitShard(stream: handle.name, shardId: shard.id, newStartingHashKey: String(middle))
                    actions.append("split hot shard \(shard.id) of \(handle.name)")
                } catch {
                    context.logger.warning("on-demand split failed", metadata: ["stream": "\(handle.name)", "shard": "\(shard.id)", "error": "\(error)"])
                }
            }
            guard hot.isEmpty, open.count > KinesisLimits.onDemandInitialShards else { continue }
            let quiet = UInt64(context.options.onDemandQuietMillis) * 1_000_000
            for (a, b) in zip(open, open.dropFirst()) {
                guard let coldA = cold[a.index], let coldB = cold[b.index], coldA >= quiet, coldB >= quiet,
                      a.hashKeyRange.upperBound + 1 == b.hashKeyRange.lowerBound else { continue }
                do {
                    try await resharder.mergeShards(stream: handle.name, shardToMerge: a.id, adjacentShardToMerge: b.id)
                    actions.append("merged cold shards \(a.id) and \(b.id) of \(handle.name)")
                } catch {
                    context.logger.warning("on-demand merge failed", metadata: ["stream": "\(handle.name)", "error": "\(error)"])
                }
                break  // one merge per pass: the map changed
            }
        }
        for action in actions { context.logger.info("on-demand capacity", metadata: ["action": "\(action)"]) }
        return actions
    }
}
