/// Capacity modes: UpdateStreamMode, and the ON_DEMAND autoscaler that splits hot shards
/// and merges cold neighbours so producers are not throttled by one hot shard.
extension StreamEngine {
    /// UpdateStreamMode: PROVISIONED or ON_DEMAND (the shards stay as they are; the
    /// autoscaler takes over from the next check).
    public func updateStreamMode(stream name: String, mode: CapacityMode) throws {
        try updateMetadata(name) { $0.mode = mode.rawValue }
    }

    /// EnableEnhancedMonitoring / DisableEnhancedMonitoring: returns (before, after).
    public func setEnhancedMonitoring(stream name: String, metrics: [String], enable: Bool) throws -> ([String], [String]) {
        let all = ["IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords", "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds"]
        let asked = metrics.contains("ALL") ? all : metrics
        for metric in asked where !all.contains(metric) {
            throw EngineError(.validation, "1 validation error detected: Value '[\(metric)]' at 'shardLevelMetrics' failed to satisfy constraint: Member must satisfy enum value set: [\((all + ["ALL"]).joined(separator: ", "))]")
        }
        var before: [String] = []
        var after: [String] = []
        try updateMetadata(name) { m in
            before = m.enhancedMetrics
            let current = Set(m.enhancedMetrics)
            m.enhancedMetrics = all.filter { enable ? current.contains($0) || asked.contains($0) : current.contains($0) && !asked.contains($0) }
            after = m.enhancedMetrics
        }
        return (before, after)
    }

    /// One autoscaler pass over every ON_DEMAND stream; returns what it did, for the log.
    @discardableResult
    public func autoscaleOnDemandStreams() async -> [String] {
        let handles = streams.withLock { Array($0.values) }.filter { $0.metadata.mode == CapacityMode.onDemand.rawValue }
        let limits = writeLimits.withLock { $0 }
        let now = clock.monotonicNanos()
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
                if window.throttled > 0 || share >= options.onDemandSplitShare {
                    hot.append(shard)
                } else {
                    cold[shard.index] = window.coldFor
                }
            }
            for shard in hot where shard.hashKeyRange.upperBound > shard.hashKeyRange.lowerBound {
                let middle = shard.hashKeyRange.lowerBound + (shard.hashKeyRange.upperBound - shard.hashKeyRange.lowerBound) / 2 + 1
                do {
                    try await splitShard(stream: handle.name, shardId: shard.id, newStartingHashKey: String(middle))
                    actions.append("split hot shard \(shard.id) of \(handle.name)")
                } catch {
                    logger.warning("on-demand split failed", metadata: ["stream": "\(handle.name)", "shard": "\(shard.id)", "error": "\(error)"])
                }
            }
            guard hot.isEmpty, open.count > KinesisLimits.onDemandInitialShards else { continue }
            let quiet = UInt64(options.onDemandQuietMillis) * 1_000_000
            for (a, b) in zip(open, open.dropFirst()) {
                guard let coldA = cold[a.index], let coldB = cold[b.index], coldA >= quiet, coldB >= quiet,
                      a.hashKeyRange.upperBound + 1 == b.hashKeyRange.lowerBound else { continue }
                do {
                    try await mergeShards(stream: handle.name, shardToMerge: a.id, adjacentShardToMerge: b.id)
                    actions.append("merged cold shards \(a.id) and \(b.id) of \(handle.name)")
                } catch {
                    logger.warning("on-demand merge failed", metadata: ["stream": "\(handle.name)", "error": "\(error)"])
                }
                break  // one merge per pass: the map changed
            }
        }
        for action in actions { logger.info("on-demand capacity", metadata: ["action": "\(action)"]) }
        return actions
    }
}
