import SluiceStorage

/// Stream administration: create, delete, list, describe, retention, tags.
extension StreamEngine {
    /// Capacity modes: PROVISIONED (a shard count chosen by the caller) or ON_DEMAND.
    public enum CapacityMode: String, Sendable {
        case provisioned = "PROVISIONED"
        case onDemand = "ON_DEMAND"
    }

    /// Creates a stream with `shardCount` shards splitting the hash-key space evenly.
    /// - Throws: ResourceInUseException if it exists, LimitExceededException past the
    ///   shard limit, ValidationException for a bad name or count.
    public func createStream(name: String, shardCount: Int?, mode: CapacityMode = .provisioned) throws {
        try Self.validateStreamName(name)
        let count: Int
        switch mode {
        case .onDemand: count = shardCount ?? KinesisLimits.onDemandInitialShards
        case .provisioned:
            guard let shardCount else {
                throw EngineError(.invalidArgument, "ShardCount is required for a PROVISIONED stream.")
            }
            count = shardCount
        }
        guard count >= 1 else {
            throw EngineError(.validation, "1 validation error detected: Value '\(count)' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1")
        }
        try streams.withLock { all in
            if all[name] != nil {
                throw EngineError(.resourceInUse, "Stream \(name) under account \(options.accountId) already exists.")
            }
            let open = all.values.reduce(0) { $0 + $1.metadata.openShards.count }
            if count > options.shardLimit - open {  // not open + count: a client's count may be Int.max
                throw EngineError(.limitExceeded, "This request would exceed the shard limit for the account \(options.accountId) in \(options.region). Current limit of shards is \(options.shardLimit). Number of open shards is \(open).")
            }
            let now = clock.nowMillis()
            let shards = HashKey.evenRanges(count: count).enumerated().map { k, range in
                ShardMetadata(index: k, hashKeyStart: String(range.lowerBound), hashKeyEnd: String(range.upperBound),
                              startingOffset: 0, createdAtMillis: now)
            }
            let metadata = StreamMetadata(
                name: name, createdAtMillis: now, retentionHours: KinesisLimits.defaultRetentionHours,
                status: "ACTIVE", mode: mode.rawValue, encryptionType: options.keys == nil ? "NONE" : "KMS",
                keyId: options.keys?.defaultKeyId, tags: [:], shards: shards, enhancedMetrics: [], consumers: []
            )
            let directory = streamsDirectory + "/" + PathComponent.encode(name)
            if let reason = quarantineReason(of: name) {
                throw EngineError(.resourceInUse, "Stream \(name) is quarantined (\(reason)); its records are kept. Run `sluice repair` with sluiced stopped, or move \(directory) aside, before creating it again.")
            }
            // Shard directories first, metadata last: the stream exists once stream.json does.
            try fs.createDirectories(directory)
            var handles: [Int: ShardHandle] = [:]
            for shard in shards { handles[shard.index] = try openShard(shard, of: metadata, streamDirectory: directory) }
            try writeMetadata(metadata, directory: directory)
            try fs.syncDirectory(streamsDirectory)
            all[name] = StreamHandle(directory: directory, metadata: metadata, shards: handles)
            logger.info("created stream", metadata: ["stream": "\(name)", "shards": "\(count)"])
        }
    }

    /// Deletes a stream and all its records.
    public func deleteStream(name: String) async throws {
        let handle = try streams.withLock { all -> StreamHandle in
            guard let handle = all.removeValue(forKey: name) else {
                throw EngineError(.resourceNotFound, "Stream \(name) under account \(options.accountId) not found.")
            }
            return handle
        }
        for shard in handle.allShards { try? await shard.log.close() }
        // A replay must never write the deleted stream's bytes into one created later
        // under the same name.
        try journal?.checkpoint()
        try fs.createDirectories(trashDirectory)
        let trash = trashDirectory + "/\(PathComponent.encode(name)).\(clock.nowMillis())"
        try fs.rename(handle.directory, to: trash)
        try fs.syncDirectory(streamsDirectory)
        try fs.removeTree(trash)
        logger.info("deleted stream", metadata: ["stream": "\(name)"])
    }

    /// Why the stream `name` is quarantined (left out at start, its directory kept
    /// untouched), or nil.
    public func quarantineReason(of name: String) -> String? {
        quarantinedStreams.withLock { $0[PathComponent.encode(name)] }
    }

    /// Names of the quarantined streams whose directory name decodes to a stream name.
    public var quarantinedStreamNames: Set<String> {
        Set(quarantinedStreams.withLock { Array($0.keys) }.compactMap(PathComponent.decode))
    }

    /// Stream names, sorted.
    public func streamNames() -> [String] {
        streams.withLock { Array($0.keys) }.sorted()
    }

    public func metadata(of name: String) throws -> StreamMetadata {
        try stream(name).metadata
    }

    /// Changes a stream's metadata under its lock and persists it before anyone sees it.
    func updateMetadata(_ name: String, _ change: (inout StreamMetadata) throws -> Void) throws {
        let handle = try stream(name)
        try handle.state.withLock { s in
            var copy = s.metadata
            try change(&copy)
            try writeMetadata(copy, directory: handle.directory)
            s.metadata = copy
        }
    }

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
        let handles = streams.withLock { Array($0.values) }
        var deleted = 0
        for handle in handles {
            let cutoff = clock.nowMillis() - Int64(handle.metadata.retentionHours) * 3_600_000
            for shard in handle.allShards {
                do {
                    deleted += try shard.log.deleteSegments(newestRecordBefore: cutoff)
                } catch {
                    logger.error("retention could not delete a segment", metadata: ["shard": "\(shard.log.directory)", "error": "\(error)"])
                }
            }
        }
        return deleted
    }

    /// The shards Kinesis would list: open ones, and closed ones until their records are
    /// past the stream's retention.
    public func visibleShards(of name: String) throws -> [ShardMetadata] {
        let m = try metadata(of: name)
        let cutoff = clock.nowMillis() - Int64(m.retentionHours) * 3_600_000
        return m.shards.filter { ($0.closedAtMillis ?? .max) >= cutoff }
    }

    /// Open shards in all streams (DescribeLimits' OpenShardCount).
    public var openShardCount: Int {
        streams.withLock { $0.values.reduce(0) { $0 + $1.metadata.openShards.count } }
    }

    public var onDemandStreamCount: Int {
        streams.withLock { $0.values.filter { $0.metadata.mode == CapacityMode.onDemand.rawValue }.count }
    }

    /// Kinesis stream names: 1–128 characters from [a-zA-Z0-9_.-].
    static func validateStreamName(_ name: String) throws {
        guard !name.isEmpty else { throw EngineError.length(field: "streamName", value: name, min: 1) }
        guard name.count <= KinesisLimits.maxStreamNameLength else {
            throw EngineError.length(field: "streamName", value: name, max: KinesisLimits.maxStreamNameLength)
        }
        guard nameProblem(name) == nil else {
            throw EngineError(.validation, "1 validation error detected: Value '\(name)' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
        }
    }

    /// Why `name` is not a Kinesis stream name, or nil when it is one.
    static func nameProblem(_ name: String) -> String? {
        guard (1...KinesisLimits.maxStreamNameLength).contains(name.count) else {
            return "'\(name)' is not 1–\(KinesisLimits.maxStreamNameLength) characters"
        }
        let allowed = name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "." || $0 == "-"
        }
        return allowed ? nil : "'\(name)' holds characters outside [a-zA-Z0-9_.-]"
    }
}
