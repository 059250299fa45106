/// An export's standing, for `/status`, `sluice status` and `sluice exports`.
public struct ExportStatus: Codable, Sendable, Equatable {
    public var name: String
    public var kind: String
    public var destination: String
    public var consumer: ConsumerStatus
    public var deliveredRecords: UInt64
    public var deliveredBytes: Int64
    /// The destination's own counters (retried, duplicate, unanswered records, failed calls).
    public var statistics: [String: UInt64]
    /// The latest failure since the last delivered batch (nil while all is well).
    public var lastError: String?
    /// Buffering destinations: the last object (or HTTP request id) delivered.
    public var lastDelivered: String?
    /// Buffering destinations: seconds between the oldest record of the last delivery
    /// and its delivery (Firehose's DataFreshness).
    public var dataFreshnessSeconds: Double?

    public init(name: String, kind: String, destination: String, consumer: ConsumerStatus, deliveredRecords: UInt64, deliveredBytes: Int64, statistics: [String: UInt64], lastError: String?) {
        self.name = name
        self.kind = kind
        self.destination = destination
        self.consumer = consumer
        self.deliveredRecords = deliveredRecords
        self.deliveredBytes = deliveredBytes
        self.statistics = statistics
        self.lastError = lastError
    }
}
