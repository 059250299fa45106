import FoundationEssentials
import SluiceEngine
import SluiceKinesis
import SluiceStorage

/// Enhanced fan-out actions. SubscribeToShard itself streams, so the HTTP layer drives it
/// through `openSubscription` and `SubscriptionStream`.
extension KinesisDispatcher {
    func consumerShape(_ stream: String, _ consumer: ConsumerMetadata, withStream: Bool = false) -> ConsumerShape {
        ConsumerShape(
            ConsumerName: consumer.name, ConsumerARN: engine.fanOut.consumerARN(stream: stream, consumer: consumer, region: region),
            ConsumerStatus: "ACTIVE", ConsumerCreationTimestamp: Double(consumer.createdAtMillis) / 1000,
            StreamARN: withStream ? engine.catalog.arn(of: stream, region: region) : nil
        )
    }

    /// The stream and consumer name a reference means (ConsumerARN, or StreamARN + name).
    func consumer(_ reference: ConsumerReference) throws -> (String, ConsumerMetadata) {
        if let arn = reference.ConsumerARN { return try engine.fanOut.resolveConsumer(arn: arn) }
        guard let streamARN = reference.StreamARN, let name = reference.ConsumerName else {
            throw KinesisError(type: "InvalidArgumentException", message: "Either ConsumerARN, or StreamARN and ConsumerName, must be provided.")
        }
        let stream = try engine.catalog.resolveStreamName(name: nil, arn: streamARN)
        guard let consumer = (try engine.catalog.metadata(of: stream).consumers ?? []).first(where: { $0.name == name }) else {
            throw KinesisError(type: "ResourceNotFoundException", message: "Consumer \(name) under stream \(stream) under account \(engine.options.accountId) not found.")
        }
        return (stream, consumer)
    }

    func registerConsumer(_ input: RegisterStreamConsumerInput) throws -> RegisterStreamConsumerOutput {
        let stream = try engine.catalog.resolveStreamName(name: nil, arn: input.StreamARN)
        return RegisterStreamConsumerOutput(Consumer: consumerShape(stream, try engine.fanOut.registerConsumer(stream: stream, consumerName: input.ConsumerName)))
    }

    func deregisterConsumer(_ input: ConsumerReference) throws -> EmptyShape {
        let (stream, consumer) = try self.consumer(input)
        try engine.fanOut.deregisterConsumer(stream: stream, consumerName: consumer.name)
        return EmptyShape()
    }

    func describeConsumer(_ input: ConsumerReference) throws -> DescribeStreamConsumerOutput {
        let (stream, consumer) = try self.consumer(input)
        return DescribeStreamConsumerOutput(ConsumerDescription: consumerShape(stream, consumer, withStream: true))
    }

    func listConsumers(_ input: ListStreamConsumersInput) throws -> ListStreamConsumersOutput {
        let stream = try engine.catalog.resolveStreamName(name: nil, arn: input.StreamARN)
        let all = (try engine.catalog.metadata(of: stream).consumers ?? []).sorted { $0.name < $1.name }
        let after = input.NextToken.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
        let rest = all.filter { after == nil || $0.name > after! }
        let page = Array(rest.prefix(try RequestNumbers.count(input.MaxResults, fallback: 100, field: "maxResults", in: 1...10_000)))
        return ListStreamConsumersOutput(
            Consumers: page.map { consumerShape(stream, $0) },
            NextToken: rest.count > page.count ? Data(page.last!.name.utf8).base64EncodedString() : nil
        )
    }

    /// Validates a SubscribeToShard request and opens the subscription.
    public func openSubscription(_ body: Data) throws -> ShardSubscription {
        let input: SubscribeToShardInput
        do { input = try JSONDecoder().decode(SubscribeToShardInput.self, from: body) } catch { throw KinesisError.decoding(error) }
        do {
            let (stream, consumer) = try engine.fanOut.resolveConsumer(arn: input.ConsumerARN)
            let position = input.StartingPosition
            let start: IteratorStart
            switch position.Type {
            case "TRIM_HORIZON": start = .trimHorizon
            case "LATEST": start = .latest
            case "AT_SEQUENCE_NUMBER": start = .atSequenceNumber(position.SequenceNumber ?? "")
            case "AFTER_SEQUENCE_NUMBER": start = .afterSequenceNumber(position.SequenceNumber ?? "")
            case "AT_TIMESTAMP":
                guard let timestamp = position.Timestamp else {
                    throw KinesisError(type: "InvalidArgumentException", message: "Must specify StartingPosition.Timestamp for StartingPosition.Type AT_TIMESTAMP.")
                }
                start = .atTimestamp(millis: try RequestNumbers.epochMillis(timestamp, field: "StartingPosition.Timestamp"))
            default:
                throw KinesisError(type: "ValidationException", message: "1 validation error detected: Value '\(position.Type)' at 'startingPosition.type' failed to satisfy constraint: Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]")
            }
            return try engine.fanOut.subscribe(stream: stream, consumer: consumer, shardId: input.ShardId, start: start)
        } catch let error as EngineError {
            throw KinesisError(error)
        }
    }

    /// A record in its wire shape.
    func recordShape(_ record: StoredRecordView) -> RecordShape {
        RecordShape(
            SequenceNumber: SequenceNumber(shardIndex: record.shardIndex, offset: record.record.offset).description,
            ApproximateArrivalTimestamp: Double(record.record.timestampMillis) / 1000,
            Data: Data(record.record.data), PartitionKey: record.record.partitionKey, EncryptionType: nil
        )
    }

    func childShardShapes(_ children: [ChildShard]) -> [ChildShardShape] {
        children.map { child in
            ChildShardShape(ShardId: child.shardId, ParentShards: child.parentShards, HashKeyRange: HashKeyRangeShape(
                StartingHashKey: String(child.hashKeyRange.lowerBound), EndingHashKey: String(child.hashKeyRange.upperBound)))
        }
    }
}

/// A stored record and the shard it came from (for its sequence number).
struct StoredRecordView {
    var shardIndex: Int
    var record: SluiceStorage.StoredRecord
}

