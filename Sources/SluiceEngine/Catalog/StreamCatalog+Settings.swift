import Logging
import SluiceStorage

/// A stream's settings: retention, tags, encryption, capacity mode and enhanced
/// monitoring, each persisted in its metadata before anyone sees it.
extension StreamCatalog {
    /// IncreaseStreamRetentionPeriod (`increase`) or DecreaseStreamRetentionPeriod.
    public func setRetention(stream name: String, hours: Int, increase: Bool) throws {
        guard hours >= KinesisLimits.minRetentionHours else {
            throw EngineError(.invalidArgument, "Minimum allowed retention period is \(KinesisLimits.minRetentionHours) hours. Requested retention period (\(hours) hours) is too short.")
        }
        guard hours <= KinesisLimits.maxRetentionHours else {
            throw EngineError(.invalidArgument, "Maximum allowed retention period is \(KinesisLimits.maxRetentionHours) hours. Requested retention period (\(hours) hours) is too long.")
        }
        try updateMetadata(name) { m in
            if increase, hours < m.retentionHours {
                throw EngineError(.invalidArgument, "Requested retention period (\(hours) hours) for stream \(name) can not be shorter than existing retention period (\(m.retentionHours) hours). Use DecreaseRetentionPeriod API.")
            }
            if !increase, hours > m.retentionHours {
                throw EngineError(.invalidArgument, "Requested retention period (\(hours) hours) for stream \(name) can not be longer than existing retention period (\(m.retentionHours) hours). Use IncreaseRetentionPeriod API.")
            }
            m.retentionHours = hours
        }
    }

    public func addTags(stream name: String, tags: [String: String]) throws {
        guard tags.count <= KinesisLimits.maxTagsPerCall else {
            throw EngineError(.invalidArgument, "A maximum of \(KinesisLimits.maxTagsPerCall) tags can be added to a stream in one call.")
        }
        for (key, value) in tags {
            guard (1...128).contains(key.count), value.count <= 256 else {
                throw EngineError(.invalidArgument, "Tag keys must be 1 to 128 characters and values at most 256 characters; '\(key)' is not.")
            }
        }
        try updateMetadata(name) { m in
            let merged = m.tags.merging(tags) { $1 }
            guard merged.count <= KinesisLimits.maxTagsPerStream else {
                throw EngineError(.limitExceeded, "Failed to add tags to stream \(name) under account \(options.accountId) because a given stream cannot have more than \(KinesisLimits.maxTagsPerStream) tags.")
            }
            m.tags = merged
        }
    }

    public func removeTags(stream name: String, keys: [String]) throws {
        try updateMetadata(name) { m in
            for key in keys { m.tags.removeValue(forKey: key) }
        }
    }

    /// StartStreamEncryption: records put from now on are encrypted under master key
    /// `keyId` of the key file (`alias/aws/kinesis` means its default key).
    public func startEncryption(stream name: String, keyId requested: String) throws {
        guard let keys = options.keys else {
            throw EngineError(.kmsNotFound, "No key file is configured: set [encryption] key_file to encrypt stream \(name).")
        }
        let keyId = requested == "alias/aws/kinesis" ? keys.defaultKeyId : requested
        do { _ = try keys.activeKey(id: keyId) } catch {
            throw EngineError(.kmsNotFound, "Key \(requested) is not in the key file; known keys can be listed with `sluice keys list`.")
        }
        try setEncryption(name, keyId: keyId)
    }

    /// StopStreamEncryption: records put from now on are stored in clear.
    public func stopEncryption(stream name: String) throws {
        try setEncryption(name, keyId: nil)
    }

    private func setEncryption(_ name: String, keyId: String?) throws {
        let handle = try stream(name)
        try updateMetadata(name) { m in
            m.encryptionType = keyId == nil ? "NONE" : "KMS"
            m.keyId = keyId
        }
        for shard in handle.allShards {
            do { try shard.log.setEncryption(keyId: keyId) } catch {
                throw EngineError(.kmsNotFound, "\(error)")
            }
        }
    }

    /// Deletes every segment past its stream's retention; returns how many went.
    @discardableResult
    public func enforceRetention() -> Int {
        let handles = allStreams
        var deleted = 0
        for handle in handles {
            let cutoff = context.clock.nowMillis() - Int64(handle.metadata.retentionHours) * 3_600_000
            for shard in handle.allShards {
                do {
                    deleted += try shard.log.deleteSegments(newestRecordBefore: cutoff)
                } catch {
                    context.logger.error("retention could not delete a segment", metadata: ["shard": "\(shard.log.directory)", "error": "\(error)"])
                }
            }
        }
        return deleted
    }

    /// The shards Kinesis would list: open ones, and closed ones until their records are
    /// past the stream's retention.
    public func visibleShards(of name: String) throws -> [ShardMetadata] {
        let m = try metadata(of: name)
        let cutoff = context.clock.nowMillis() - Int64(m.retentionHours) * 3_600_000
        return m.shards.filter { ($0.closedAtMillis ?? .max) >= cutoff }
    }


    /// UpdateStreamMode: PROVISIONED or ON_DEMAND (the shards stay as they are; the
    /// autoscaler takes over from the next check).
    public func updateStreamMode(stream name: String, mode: StreamEngine.CapacityMode) throws {
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
}
