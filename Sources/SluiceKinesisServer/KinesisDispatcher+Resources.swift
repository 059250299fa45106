import SluiceEngine
import SluiceKinesis
import SluiceStorage

/// The ARN-based actions: resource policies and tags on streams and consumers, account
/// settings, the record size bound.
extension KinesisDispatcher {
    /// The records a stream takes: 1 MiB, as Kinesis before UpdateMaxRecordSize. Larger
    /// records would need GetRecords answers past 10 MiB; the box does not offer them.
    static let maxRecordSizeInKiB = KinesisLimits.maxRecordSize / 1024

    /// The stream, and consumer when the ARN names one.
    func resource(_ arn: String) throws -> (stream: String, consumer: String?) {
        if arn.contains("/consumer/") {
            let (stream, consumer) = try engine.fanOut.resolveConsumer(arn: arn)
            return (stream, consumer.name)
        }
        let stream = try engine.catalog.resolveStreamName(name: nil, arn: arn)
        _ = try engine.catalog.metadata(of: stream)
        return (stream, nil)
    }

    func putResourcePolicy(_ input: PutResourcePolicyInput) throws -> EmptyShape {
        let (stream, consumer) = try resource(input.ResourceARN)
        _ = try ResourcePolicy(json: input.Policy, accountId: engine.options.accountId)
        try engine.catalog.setResourcePolicy(stream: stream, consumer: consumer, input.Policy)
        return EmptyShape()
    }

    func getResourcePolicy(_ input: ResourceReference) throws -> GetResourcePolicyOutput {
        let (stream, consumer) = try resource(input.ResourceARN)
        return GetResourcePolicyOutput(Policy: try engine.catalog.resourcePolicy(stream: stream, consumer: consumer) ?? "{}")
    }

    func deleteResourcePolicy(_ input: ResourceReference) throws -> EmptyShape {
        let (stream, consumer) = try resource(input.ResourceARN)
        guard try engine.catalog.resourcePolicy(stream: stream, consumer: consumer) != nil else {
            throw KinesisError(type: "ResourceNotFoundException", message: "No resource policy found for resource \(input.ResourceARN).")
        }
        try engine.catalog.setResourcePolicy(stream: stream, consumer: consumer, nil)
        return EmptyShape()
    }

    func tagResource(_ input: TagResourceInput) throws -> EmptyShape {
        try changeTags(of: input.ResourceARN, add: input.Tags)
    }

    func untagResource(_ input: UntagResourceInput) throws -> EmptyShape {
        try changeTags(of: input.ResourceARN, remove: input.TagKeys)
    }

    /// A stream's tags are the ones AddTagsToStream sets; a consumer has its own.
    private func changeTags(of arn: String, add: [String: String] = [:], remove: [String] = []) throws -> EmptyShape {
        let (stream, consumer) = try resource(arn)
        if let consumer {
            try engine.catalog.updateConsumerTags(stream: stream, consumer: consumer, add: add, remove: remove)
        } else {
            if !add.isEmpty { try engine.catalog.addTags(stream: stream, tags: add) }
            if !remove.isEmpty { try engine.catalog.removeTags(stream: stream, keys: remove) }
        }
        return EmptyShape()
    }

    func listTagsForResource(_ input: ResourceReference) throws -> ListTagsForResourceOutput {
        let (stream, consumer) = try resource(input.ResourceARN)
        let tags = try consumer.map { try engine.catalog.consumerTags(stream: stream, consumer: $0) } ?? engine.catalog.metadata(of: stream).tags
        return ListTagsForResourceOutput(Tags: tags.sorted { $0.key < $1.key }.map { TagShape(Key: $0.key, Value: $0.value) })
    }

    /// No billing commitment exists on a box: always DISABLED.
    func describeAccountSettings(_: EmptyShape) throws -> DescribeAccountSettingsOutput {
        DescribeAccountSettingsOutput(status: "DISABLED")
    }

    /// Answered for the size the box stores (1024 KiB); a larger size is refused plainly
    /// rather than accepted and then not honoured.
    func updateMaxRecordSize(_ input: UpdateMaxRecordSizeInput) throws -> EmptyShape {
        _ = try engine.catalog.metadata(of: try name(nil, input.StreamARN))
        try Self.checkRecordSize(input.MaxRecordSizeInKiB)
        return EmptyShape()
    }

    static func checkRecordSize(_ kib: Int?) throws {
        guard let kib, kib != maxRecordSizeInKiB else { return }
        throw KinesisError(type: "InvalidArgumentException", message: "MaxRecordSizeInKiB \(kib) is not available: sluiced stores records up to \(maxRecordSizeInKiB) KiB (1 MiB). Leave it out, or give \(maxRecordSizeInKiB).")
    }
}
