/// A function's standing, for `/status` and `sluice status`.
public struct FunctionStatus: Codable, Sendable, Equatable {
    public var name: String
    public var handler: String
    /// Lag per shard (records behind, iterator age), from the function's durable consumer.
    public var consumer: ConsumerStatus
    public var invocations: UInt64
    public var errors: UInt64
    public var throttles: UInt64
    /// Records whose batch succeeded.
    public var succeededRecords: UInt64
    /// Records no filter pattern matched (skipped, as Lambda skips them).
    public var filteredOutRecords: UInt64
    /// Records given up on (retries or age) and described to on_failure when there is one.
    public var droppedRecords: UInt64
    /// Records the stream's retention deleted while they waited for a retry.
    public var expiredRecords: UInt64
    /// The latest function error since the start, and when (Unix milliseconds).
    public var lastError: String?
    public var lastErrorMillis: Int64?

    public init(name: String, handler: String, consumer: ConsumerStatus) {
        self.name = name
        self.handler = handler
        self.consumer = consumer
        invocations = 0
        errors = 0
        throttles = 0
        succeededRecords = 0
        filteredOutRecords = 0
        droppedRecords = 0
        expiredRecords = 0
    }
}
