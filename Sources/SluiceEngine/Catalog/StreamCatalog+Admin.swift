import Logging
import SluiceStorage
import Synchronization

/// Creating and deleting streams.
extension StreamCatalog {
    /// Creates a stream with `shardCount` shards splitting the hash-key space evenly.
    /// - Throws: ResourceInUseException if it exists, LimitExceededException past the
    ///   shard limit, ValidationException for a bad name or count.
    public func createStream(name: String, shardCount: Int?, mode: StreamEngine.CapacityMode = .provisioned) throws {
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
            let now = context.clock.nowMillis()
            let shards = HashKey.evenRanges(count: count).enumerated().map { k, range in
                ShardMetadata(index: k, hashKeyStart: String(range.lowerBound), hashKeyEnd: String(range.upperBound),
                              startingOffset: 0, createdAtMillis: now)
            }
            let metadata = StreamMetadata(
                name: name, createdAtMillis: now, retentionHours: KinesisLimits.defaultRetentionHours,
                status: "ACTIVE", mode: mode.rawValue, encryptionType: options.keys == nil ? "NONE" : "KMS",
                keyId: options.keys?.defaultKeyId, tags: [:], shards: shards, enhancedMetrics: [], consumers: []
            )
            let directory = context.streamsDirectory + "/" + PathComponent.encode(name)
            if let reason = quarantineReason(of: name) {
                throw EngineError(.resourceInUse, "Stream \(name) is quarantined (\(reason)); its records are kept. Run `sluice repair` with sluiced stopped, or move \(directory) aside, before creating it again.")
            }
            // Shard directories first, metadata last: the stream exists once stream.json does.
            try context.fs.createDirectories(directory)
            var handles: [Int: ShardHandle] = [:]
            for shard in shards { handles[shard.index] = try factory.open(shard, of: metadata, streamDirectory: directory) }
            try writeMetadata(metadata, directory: directory)
            try context.fs.syncDirectory(context.streamsDirectory)
            all[name] = StreamHandle(directory: directory, metadata: metadata, shards: handles)
            context.logger.info("created stream", metadata: ["stream": "\(name)", "shards": "\(count)"])
        }
    }

    /// Deletes a stream and all its records.
    public func deleteStream(name: String) async throws {
        let handle = try streams.withLock { all -> StreamHandle in
            guard let handle = all.removeValue(forKey: name) else { throw context.streamNotFound(name) }
            return handle
        }
        for shard in handle.allShards { try? await shard.log.close() }
        // A replay must never write the deleted stream's bytes into one created later
        // under the same name.
        try context.journal?.checkpoint()
        try context.fs.createDirectories(context.trashDirectory)
        let trash = context.trashDirectory + "/\(PathComponent.encode(name)).\(context.clock.nowMillis())"
        try context.fs.rename(handle.directory, to: trash)
        try context.fs.syncDirectory(context.streamsDirectory)
        try context.fs.removeTree(trash)
        context.logger.info("deleted stream", metadata: ["stream": "\(name)"])
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
