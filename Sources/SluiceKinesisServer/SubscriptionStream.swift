import FoundationEssentials
import SluiceEngine
import SluiceKinesis

/// Drives one SubscribeToShard: the initial-response event, then a SubscribeToShardEvent
/// whenever records arrive (and at least every `heartbeat` while idle), until `duration`
/// has passed (Kinesis: 5 minutes) or a closed shard has been delivered to its end.
public struct SubscriptionStream: Sendable {
    let dispatcher: KinesisDispatcher
    let subscription: ShardSubscription
    let duration: Duration
    /// The request's body format: event payloads go out in it.
    let format: KinesisBodyFormat
    let heartbeat: Duration = .seconds(2)
    /// Caught up, the stream waits for the shard's next append, and looks again after
    /// this long regardless (heartbeats, a closed shard).
    let pollInterval: Duration = .milliseconds(100)

    public init(dispatcher: KinesisDispatcher, subscription: ShardSubscription, duration: Duration, format: KinesisBodyFormat = .json) {
        self.dispatcher = dispatcher
        self.subscription = subscription
        self.duration = duration
        self.format = format
    }

    /// An event whose payload is `json`, in the request's format.
    private func event(_ type: String, json: [UInt8]) throws -> [UInt8] {
        EventStreamMessage.event(type, payload: try format.encode(json: json), contentType: format.eventContentType)
    }

    /// Calls `send` with each event-stream message, in order.
    public func run(_ send: ([UInt8]) async throws -> Void) async throws {
        defer { subscription.close() }
        try await send(try event("initial-response", json: Array("{}".utf8)))
        let end = ContinuousClock.now + duration
        var lastSent = ContinuousClock.now
        while ContinuousClock.now < end && !Task.isCancelled {
            let batch: ShardSubscription.Batch
            do {
                batch = try subscription.next()
            } catch let error as EngineError {
                try await send(EventStreamMessage.exception(error.kind.rawValue, message: error.message, format: format))
                return
            }
            let done = batch.childShards != nil
            let idleTooLong = ContinuousClock.now - lastSent >= heartbeat
            if !batch.records.isEmpty || done || (idleTooLong && batch.continuationSequenceNumber != nil) {
                let event = SubscribeToShardEventShape(
                    Records: batch.records.map { dispatcher.recordShape(StoredRecordView(shardIndex: subscription.shardIndex, record: $0)) },
                    ContinuationSequenceNumber: batch.continuationSequenceNumber,
                    MillisBehindLatest: batch.millisBehindLatest,
                    ChildShards: batch.childShards.map(dispatcher.childShardShapes)
                )
                try await send(try self.event("SubscribeToShardEvent", json: Array(try JSONEncoder().encode(event))))
                lastSent = .now
            }
            if done { return }
            if batch.records.isEmpty {
                await subscription.waitForRecords(timeout: pollInterval)
                try Task.checkCancellation()
            }
        }
    }
}
