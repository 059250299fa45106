import FoundationEssentials
import SluiceEngine
import SluiceKinesis

/// Stream administration actions.
extension KinesisDispatcher {
    func name(_ name: String?, _ arn: String?) throws -> String {
        try engine.catalog.resolveStreamName(name: name, arn: arn)
    }

    func createStream(_ input: CreateStreamInput) throws -> EmptyShape {
        let mode = StreamEngine.CapacityMode(rawValue: input.StreamModeDetails?.StreamMode ?? "PROVISIONED")
        guard let mode else {
            throw KinesisError(type: "ValidationException", message: "1 validation error detected: Value '\(input.StreamModeDetails?.StreamMode ?? "")' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must satisfy enum value set: [ON_DEMAND, PROVISIONED]")
        }
        try Self.checkRecordSize(input.MaxRecordSizeInKiB)
        if mode == .onDemand, input.ShardCount != nil {
            // AWS sizes an on-demand stream itself; a count would be silently ignored.
            throw KinesisError(type: "ValidationException", message: "ShardCount is not expected when StreamMode=ON_DEMAND: leave ShardCount out of an on-demand stream, or create it PROVISIONED.")
        }
        try engine.catalog.createStream(name: input.StreamName, shardCount: input.ShardCount, mode: mode)
        if let tags = input.Tags, !tags.isEmpty { try engine.catalog.addTags(stream: input.StreamName, tags: tags) }
        return EmptyShape()
    }

    func deleteStream(_ input: StreamReference) async throws -> EmptyShape {
        try await engine.catalog.deleteStream(name: try name(input.StreamName, input.StreamARN))
        return EmptyShape()
    }

    func shardShape(_ shard: ShardMetadata) -> ShardShape {
        ShardShape(
            ShardId: shard.id,
            ParentShardId: shard.parentIndex.map(ShardID.string),
            AdjacentParentShardId: shard.adjacentParentIndex.map(ShardID.string),
            HashKeyRange: HashKeyRangeShape(StartingHashKey: shard.hashKeyStart, EndingHashKey: shard.hashKeyEnd),
            SequenceNumberRange: SequenceNumberRangeShape(
                StartingSequenceNumber: shard.startingSequenceNumber.description,
                EndingSequenceNumber: shard.endingSequenceNumber?.description
            )
        )
    }

    /// Shards after `exclusiveStart` (by id), at most `limit`, and whether more remain.
    func page(_ shards: [ShardMetadata], after exclusiveStart: String?, limit: Int) -> ([ShardMetadata], Bool) {
        let startIndex = exclusiveStart.flatMap(ShardID.index) ?? -1
        let rest = shards.sorted { $0.index < $1.index }.filter { $0.index > startIndex }
        return (Array(rest.prefix(limit)), rest.count > limit)
    }

    func describeStream(_ input: DescribeStreamInput) throws -> DescribeStreamOutput {
        let streamName = try name(input.StreamName, input.StreamARN)
        let limit = try RequestNumbers.count(input.Limit, fallback: 100, field: "limit", in: 1...10_000)
        let m = try engine.catalog.metadata(of: streamName)
        let (shards, more) = page(try engine.catalog.visibleShards(of: streamName), after: input.ExclusiveStartShardId, limit: limit)
        return DescribeStreamOutput(StreamDescription: StreamDescriptionShape(
            StreamName: m.name, StreamARN: engine.catalog.arn(of: m.name, region: region), StreamStatus: m.status,
            StreamModeDetails: StreamModeDetailsShape(StreamMode: m.mode),
            Shards: shards.map(shardShape), HasMoreShards: more, RetentionPeriodHours: m.retentionHours,
            StreamCreationTimestamp: Double(m.createdAtMillis) / 1000,
            EnhancedMonitoring: [EnhancedMetricsShape(ShardLevelMetrics: m.enhancedMetrics)],
            EncryptionType: m.encryptionType, KeyId: m.keyId
        ))
    }

    func describeStreamSummary(_ input: StreamReference) throws -> DescribeStreamSummaryOutput {
        let m = try engine.catalog.metadata(of: try name(input.StreamName, input.StreamARN))
        return DescribeStreamSummaryOutput(StreamDescriptionSummary: StreamDescriptionSummaryShape(
            StreamName: m.name, StreamARN: engine.catalog.arn(of: m.name, region: region), StreamStatus: m.status,
            StreamModeDetails: StreamModeDetailsShape(StreamMode: m.mode), RetentionPeriodHours: m.retentionHours,
            StreamCreationTimestamp: Double(m.createdAtMillis) / 1000,
            EnhancedMonitoring: [EnhancedMetricsShape(ShardLevelMetrics: m.enhancedMetrics)],
            EncryptionType: m.encryptionType, KeyId: m.keyId, OpenShardCount: m.openShards.count, ConsumerCount: m.consumers?.count ?? 0
        ))
    }

    func listStreams(_ input: ListStreamsInput) throws -> ListStreamsOutput {
        let limit = try RequestNumbers.count(input.Limit, fallback: 100, field: "limit", in: 1...10_000)
        let after = input.NextToken.flatMap { FoundationEssentials.Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
            ?? input.ExclusiveStartStreamName
        let names = engine.catalog.streamNames().filter { after == nil || $0 > after! }
        let page = Array(names.prefix(limit))
        let more = names.count > limit
        let summaries = page.compactMap { try? engine.catalog.metadata(of: $0) }.map { m in
            StreamSummaryShape(StreamName: m.name, StreamARN: engine.catalog.arn(of: m.name, region: region), StreamStatus: m.status,
                               StreamModeDetails: StreamModeDetailsShape(StreamMode: m.mode),
                               StreamCreationTimestamp: Double(m.createdAtMillis) / 1000)
        }
        return ListStreamsOutput(
            StreamNames: page, HasMoreStreams: more,
            NextToken: more ? FoundationEssentials.Data(page.last!.utf8).base64EncodedString() : nil,
            StreamSummaries: summaries
        )
    }

    func listShards(_ input: ListShardsInput) throws -> ListShardsOutput {
        let limit = try RequestNumbers.count(input.MaxResults, fallback: 1000, field: "maxResults", in: 1...10_000)
        var streamName: String
        var after = input.ExclusiveStartShardId
        if let token = input.NextToken {
            guard input.StreamName == nil, input.StreamARN == nil else {
                throw KinesisError(type: "InvalidArgumentException", message: "NextToken and StreamName cannot be provided together.")
            }
            guard let decoded = FoundationEssentials.Data(base64Encoded: token).map({ String(decoding: $0, as: UTF8.self) }),
                  let bar = decoded.lastIndex(of: "|") else {
                throw KinesisError(type: "InvalidArgumentException", message: "Invalid NextToken.")
            }
            streamName = String(decoded[..<bar])
            after = String(decoded[decoded.index(after: bar)...])
        } else {
            streamName = try name(input.StreamName, input.StreamARN)
        }
        var visible = try engine.catalog.visibleShards(of: streamName)
        if let filter = input.ShardFilter {
            visible = try self.filter(visible, by: filter)
        }
        let (shards, more) = page(visible, after: after, limit: limit)
        let next = more ? FoundationEssentials.Data("\(streamName)|\(shards.last!.id)".utf8).base64EncodedString() : nil
        return ListShardsOutput(Shards: shards.map(shardShape), NextToken: next)
    }

    /// ListShards' ShardFilter, with Kinesis' meanings.
    func filter(_ shards: [ShardMetadata], by filter: ShardFilterShape) throws -> [ShardMetadata] {
        let millis = try filter.Timestamp.map { try RequestNumbers.epochMillis($0, field: "ShardFilter.Timestamp") }
        func needTimestamp() throws -> Int64 {
            guard let millis else {
                throw KinesisError(type: "InvalidArgumentException", message: "Timestamp is required for ShardFilter type \(filter.Type).")
            }
            return millis
        }
        switch filter.Type {
        case "AFTER_SHARD_ID":
            guard let id = filter.ShardId, let index = ShardID.index(id) else {
                throw KinesisError(type: "InvalidArgumentException", message: "ShardId is required for ShardFilter type AFTER_SHARD_ID.")
            }
            return shards.filter { $0.index > index }
        case "AT_TRIM_HORIZON":
            let listed = Set(shards.map(\.index))
            return shards.filter { s in [s.parentIndex, s.adjacentParentIndex].compactMap { $0 }.allSatisfy { !listed.contains($0) } }
        case "FROM_TRIM_HORIZON":
            return shards
        case "AT_LATEST":
            return shards.filter(\.isOpen)
        case "AT_TIMESTAMP":
            let t = try needTimestamp()
            return shards.filter { $0.createdAtMillis <= t && ($0.closedAtMillis ?? .max) > t }
        case "FROM_TIMESTAMP":
            let t = try needTimestamp()
            return shards.filter { ($0.closedAtMillis ?? .max) > t }
        default:
            throw KinesisError(type: "ValidationException", message: "1 validation error detected: Value '\(filter.Type)' at 'shardFilter.type' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]")
        }
    }

    func updateStreamMode(_ input: UpdateStreamModeInput) throws -> EmptyShape {
        guard let mode = StreamEngine.CapacityMode(rawValue: input.StreamModeDetails.StreamMode) else {
            throw KinesisError(type: "ValidationException", message: "1 validation error detected: Value '\(input.StreamModeDetails.StreamMode)' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must satisfy enum value set: [ON_DEMAND, PROVISIONED]")
        }
        try engine.catalog.updateStreamMode(stream: try engine.catalog.resolveStreamName(name: nil, arn: input.StreamARN), mode: mode)
        return EmptyShape()
    }

    func enhancedMonitoring(_ input: EnhancedMonitoringInput, enable: Bool) throws -> EnhancedMonitoringOutput {
        let stream = try name(input.StreamName, input.StreamARN)
        let (before, after) = try engine.catalog.setEnhancedMonitoring(stream: stream, metrics: input.ShardLevelMetrics, enable: enable)
        return EnhancedMonitoringOutput(StreamName: stream, StreamARN: engine.catalog.arn(of: stream, region: region), CurrentShardLevelMetrics: before, DesiredShardLevelMetrics: after)
    }

    func splitShard(_ input: SplitShardInput) async throws -> EmptyShape {
        try await engine.resharder.splitShard(stream: try name(input.StreamName, input.StreamARN), shardId: input.ShardToSplit, newStartingHashKey: input.NewStartingHashKey)
        return EmptyShape()
    }

    func mergeShards(_ input: MergeShardsInput) async throws -> EmptyShape {
        try await engine.resharder.mergeShards(stream: try name(input.StreamName, input.StreamARN), shardToMerge: input.ShardToMerge, adjacentShardToMerge: input.AdjacentShardToMerge)
        return EmptyShape()
    }

    func updateShardCount(_ input: UpdateShardCountInput) async throws -> UpdateShardCountOutput {
        guard input.ScalingType == "UNIFORM_SCALING" else {
            throw KinesisError(type: "ValidationException", message: "1 validation error detected: Value '\(input.ScalingType)' at 'scalingType' failed to satisfy constraint: Member must satisfy enum value set: [UNIFORM_SCALING]")
        }
        let stream = try name(input.StreamName, input.StreamARN)
        let current = try await engine.resharder.updateShardCount(stream: stream, targetShardCount: input.TargetShardCount)
        return UpdateShardCountOutput(StreamName: stream, StreamARN: engine.catalog.arn(of: stream, region: region), CurrentShardCount: current, TargetShardCount: input.TargetShardCount)
    }

    func setRetention(_ input: RetentionInput, increase: Bool) throws -> EmptyShape {
        try engine.catalog.setRetention(stream: try name(input.StreamName, input.StreamARN), hours: input.RetentionPeriodHours, increase: increase)
        return EmptyShape()
    }

    func addTags(_ input: AddTagsInput) throws -> EmptyShape {
        try engine.catalog.addTags(stream: try name(input.StreamName, input.StreamARN), tags: input.Tags)
        return EmptyShape()
    }

    func removeTags(_ input: RemoveTagsInput) throws -> EmptyShape {
        try engine.catalog.removeTags(stream: try name(input.StreamName, input.StreamARN), keys: input.TagKeys)
        return EmptyShape()
    }

    func listTags(_ input: ListTagsInput) throws -> ListTagsOutput {
        let m = try engine.catalog.metadata(of: try name(input.StreamName, input.StreamARN))
        let limit = try RequestNumbers.count(input.Limit, fallback: 50, field: "limit", in: 1...50)
        let keys = m.tags.keys.sorted().filter { input.ExclusiveStartTagKey == nil || $0 > input.ExclusiveStartTagKey! }
        return ListTagsOutput(
            Tags: keys.prefix(limit).map { TagShape(Key: $0, Value: m.tags[$0]) },
            HasMoreTags: keys.count > limit
        )
    }

    func setEncryption(_ input: StreamEncryptionInput, start: Bool) throws -> EmptyShape {
        guard input.EncryptionType == "KMS" else {
            throw KinesisError(type: "ValidationException", message: "1 validation error detected: Value '\(input.EncryptionType)' at 'encryptionType' failed to satisfy constraint: Member must satisfy enum value set: [KMS]")
        }
        let stream = try name(input.StreamName, input.StreamARN)
        if start {
            try engine.catalog.startEncryption(stream: stream, keyId: input.KeyId)
        } else {
            try engine.catalog.stopEncryption(stream: stream)
        }
        return EmptyShape()
    }

    func describeLimits(_ input: EmptyShape) throws -> DescribeLimitsOutput {
        DescribeLimitsOutput(
            ShardLimit: engine.options.shardLimit, OpenShardCount: engine.catalog.openShardCount,
            OnDemandStreamCount: engine.catalog.onDemandStreamCount, OnDemandStreamCountLimit: engine.options.onDemandStreamCountLimit
        )
    }
}
