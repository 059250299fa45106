import FoundationEssentials
import NIOCore
import SluiceEngine
import SluiceKinesis
import SluiceStorage

/// Turns one Kinesis action (the name after `Kinesis_20131202.` and the JSON body) into
/// the JSON response, over the engine. No HTTP here, so tests drive it directly.
public struct KinesisDispatcher: Sendable {
    public let engine: StreamEngine
    /// How long a SubscribeToShard lasts before the client must subscribe again.
    public let subscriptionDuration: Duration
    /// The region of this request's SigV4 credential scope: the ARNs it is answered with
    /// name it. nil (unsigned requests, in-process callers): the configured region.
    public var region: String?
    /// The actions this server answers, by name.
    static let actions: [String: @Sendable (KinesisDispatcher, ByteBuffer) async throws -> FoundationEssentials.Data] = [
        "CreateStream": { try await $0.run($1, $0.createStream) },
        "DeleteStream": { try await $0.run($1, $0.deleteStream) },
        "DescribeStream": { try await $0.run($1, $0.describeStream) },
        "DescribeStreamSummary": { try await $0.run($1, $0.describeStreamSummary) },
        "ListStreams": { try await $0.run($1, $0.listStreams) },
        "ListShards": { try await $0.run($1, $0.listShards) },
        "PutRecord": { try await $0.run($1, $0.putRecord) },
        "PutRecords": { try await $0.run($1, $0.putRecords) },
        "GetShardIterator": { try await $0.run($1, $0.getShardIterator) },
        "GetRecords": { try await $0.run($1, $0.getRecords) },
        "IncreaseStreamRetentionPeriod": { d, body in
            try await d.run(body) { (input: RetentionInput) in try d.setRetention(input, increase: true) }
        },
        "DecreaseStreamRetentionPeriod": { d, body in
            try await d.run(body) { (input: RetentionInput) in try d.setRetention(input, increase: false) }
        },
        "AddTagsToStream": { try await $0.run($1, $0.addTags) },
        "RemoveTagsFromStream": { try await $0.run($1, $0.removeTags) },
        "ListTagsForStream": { try await $0.run($1, $0.listTags) },
        "DescribeLimits": { try await $0.run($1, $0.describeLimits) },
        "SplitShard": { try await $0.run($1, $0.splitShard) },
        "UpdateStreamMode": { try await $0.run($1, $0.updateStreamMode) },
        "EnableEnhancedMonitoring": { d, body in
            try await d.run(body) { (input: EnhancedMonitoringInput) in try d.enhancedMonitoring(input, enable: true) }
        },
        "DisableEnhancedMonitoring": { d, body in
            try await d.run(body) { (input: EnhancedMonitoringInput) in try d.enhancedMonitoring(input, enable: false) }
        },
        "RegisterStreamConsumer": { try await $0.run($1, $0.registerConsumer) },
        "DeregisterStreamConsumer": { try await $0.run($1, $0.deregisterConsumer) },
        "DescribeStreamConsumer": { try await $0.run($1, $0.describeConsumer) },
        "ListStreamConsumers": { try await $0.run($1, $0.listConsumers) },
        "MergeShards": { try await $0.run($1, $0.mergeShards) },
        "UpdateShardCount": { try await $0.run($1, $0.updateShardCount) },
        "StartStreamEncryption": { d, body in
            try await d.run(body) { (input: StreamEncryptionInput) in try d.setEncryption(input, start: true) }
        },
        "StopStreamEncryption": { d, body in
            try await d.run(body) { (input: StreamEncryptionInput) in try d.setEncryption(input, start: false) }
        },
        "PutResourcePolicy": { try await $0.run($1, $0.putResourcePolicy) },
        "GetResourcePolicy": { try await $0.run($1, $0.getResourcePolicy) },
        "DeleteResourcePolicy": { try await $0.run($1, $0.deleteResourcePolicy) },
        "TagResource": { try await $0.run($1, $0.tagResource) },
        "UntagResource": { try await $0.run($1, $0.untagResource) },
        "ListTagsForResource": { try await $0.run($1, $0.listTagsForResource) },
        "DescribeAccountSettings": { try await $0.run($1, $0.describeAccountSettings) },
        "UpdateMaxRecordSize": { try await $0.run($1, $0.updateMaxRecordSize) },
    ]

    public init(engine: StreamEngine, subscriptionDuration: Duration = .seconds(300)) {
        self.engine = engine
        self.subscriptionDuration = subscriptionDuration
    }

    /// This dispatcher answering a request signed for `region` (nil: the configured one).
    public func answering(inRegion region: String?) -> KinesisDispatcher {
        var copy = self
        copy.region = region
        return copy
    }

    public static var supportedActions: [String] { actions.keys.sorted() }

    /// Runs `action` on `body` (a copy of it: for tests and in-process callers).
    /// - Throws: `KinesisError` only, already in its wire shape.
    public func handle(action: String, body: FoundationEssentials.Data) async throws -> FoundationEssentials.Data {
        try await handle(action: action, body: ByteBuffer(bytes: body))
    }

    /// Runs `action` on the request body as the server received it.
    /// - Throws: `KinesisError` only, already in its wire shape.
    public func handle(action: String, body: ByteBuffer) async throws -> FoundationEssentials.Data {
        guard let run = Self.actions[action] else { throw KinesisError.unknownOperation(action) }
        // PutRecords (up to 5 MiB, the hot path) is decoded in place and checked as it is
        // decoded; every other action is checked against the model before it runs.
        if action != "PutRecords", let parsed = try? body.withUnsafeReadableBytes({ try JSONParser.parse($0) }) {
            try KinesisValidator.validate(action: action, body: parsed)
        }
        do {
            return try await run(self, body)
        } catch let error as KinesisError {
            throw error
        } catch let error as EngineError {
            throw KinesisError(error)
        } catch {
            throw KinesisError(type: "InternalFailure", message: "\(error)", status: 500)
        }
    }

    /// Decodes the input, runs the action, encodes the output.
    private func run<Input: Decodable, Output: Encodable>(
        _ body: ByteBuffer, _ action: (Input) async throws -> Output
    ) async throws -> FoundationEssentials.Data {
        let input: Input = try Self.decode(body)
        let output = try await action(input)
        return try JSONEncoder().encode(output)
    }

    /// Decodes a request body in place: the decoder reads the server's buffer without a
    /// copy of it (a PutRecords body is up to 5 MiB, and 8 of them in flight were 40 MiB
    /// of copies). Nothing decoded refers to the buffer afterwards.
    static func decode<Input: Decodable>(_ body: ByteBuffer) throws -> Input {
        do {
            return try body.withUnsafeReadableBytes { bytes in
                guard let base = bytes.baseAddress, !bytes.isEmpty else {
                    return try JSONDecoder().decode(Input.self, from: FoundationEssentials.Data("{}".utf8))
                }
                let view = FoundationEssentials.Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count, deallocator: .none)
                return try JSONDecoder().decode(Input.self, from: view)
            }
        } catch {
            throw KinesisError.decoding(error, body: FoundationEssentials.Data(body.readableBytesView))
        }
    }
}
