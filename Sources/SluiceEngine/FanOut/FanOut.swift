import SluiceStorage
import Synchronization

/// Enhanced fan-out: registered consumers, each reading a shard through its own
/// subscription with its own 2 MiB/s, apart from the polling consumers' shared limit.
public final class FanOut: Sendable {
    let context: EngineContext
    let catalog: StreamCatalog
    let reader: StreamReader
    /// `stream|consumer|shard` of every open subscription.
    let activeSubscriptions = Mutex<Set<String>>([])

    init(context: EngineContext, catalog: StreamCatalog, reader: StreamReader) {
        self.context = context
        self.catalog = catalog
        self.reader = reader
    }

    public static let maxConsumersPerStream = 20
    public static let consumerBytesPerSecond = 2 << 20

    public func consumerARN(stream: String, consumer: ConsumerMetadata, region: String? = nil) -> String {
        "\(catalog.arn(of: stream, region: region))/consumer/\(consumer.name):\(consumer.createdAtMillis / 1000)"
    }

    /// The stream and consumer a consumer ARN names.
    public func resolveConsumer(arn: String) throws -> (stream: String, consumer: ConsumerMetadata) {
        guard let range = arn.firstRange(of: "/consumer/") else {
            throw EngineError(.invalidArgument, "ConsumerARN \(arn) is not a Kinesis consumer ARN.")
        }
        let stream = try catalog.resolveStreamName(name: nil, arn: String(arn[..<range.lowerBound]))
        let rest = arn[range.upperBound...]
        let name = String(rest.split(separator: ":").first ?? "")
        guard let consumer = (try catalog.metadata(of: stream).consumers ?? []).first(where: { $0.name == name && (!rest.contains(":") || rest == "\($0.name):\($0.createdAtMillis / 1000)") }) else {
            throw EngineError(.resourceNotFound, "Consumer \(arn) under account \(context.accountId) not found.")
        }
        return (stream, consumer)
    }

    public func registerConsumer(stream name: String, consumerName: String) throws -> ConsumerMetadata {
        guard (1...128).contains(consumerName.count), consumerName.allSatisfy({ $0.isLetter || $0.isNumber || "_.-".contains($0) }) else {
            throw EngineError(.validation, "1 validation error detected: Value '\(consumerName)' at 'consumerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
        }
        let consumer = ConsumerMetadata(name: consumerName, createdAtMillis: context.clock.nowMillis())
        try catalog.updateMetadata(name) { m in
            var consumers = m.consumers ?? []
            if consumers.contains(where: { $0.name == consumerName }) {
                throw EngineError(.resourceInUse, "Consumer \(consumerName) under stream \(name) under account \(context.accountId) already exists.")
            }
            guard consumers.count < Self.maxConsumersPerStream else {
                throw EngineError(.limitExceeded, "Stream \(name) under account \(context.accountId) already has \(Self.maxConsumersPerStream) registered consumers.")
            }
            consumers.append(consumer)
            m.consumers = consumers
        }
        return consumer
    }

    public func deregisterConsumer(stream name: String, consumerName: String) throws {
        try catalog.updateMetadata(name) { m in
            guard (m.consumers ?? []).contains(where: { $0.name == consumerName }) else {
                throw EngineError(.resourceNotFound, "Consumer \(consumerName) under stream \(name) under account \(context.accountId) not found.")
            }
            m.consumers?.removeAll { $0.name == consumerName }
        }
    }

    /// Opens a subscription of `consumer` to one shard.
    /// - Throws: ResourceInUseException while the consumer already has one on that shard.
    public func subscribe(stream name: String, consumer: ConsumerMetadata, shardId: String, start: IteratorStart) throws -> ShardSubscription {
        let token = try reader.shardIterator(stream: name, shardId: shardId, start: start)
        let iterator = ShardIterator.decode(token, key: reader.iteratorKey)!
        let key = "\(name)|\(consumer.name)|\(iterator.shardIndex)"
        let inserted = activeSubscriptions.withLock { $0.insert(key).inserted }
        guard inserted else {
            throw EngineError(.resourceInUse, "Another active subscription exists for this consumer: \(consumerARN(stream: name, consumer: consumer)) on shard \(shardId).")
        }
        let handle = try catalog.stream(name)
        return ShardSubscription(fanOut: self, stream: handle, shardIndex: iterator.shardIndex, offset: iterator.offset, key: key)
    }
}
