import SluiceEngine

/// Where an export hands its records: one implementation per `[[exports]] kind`.
///
/// `submit` gets one local shard's batches in order and returns a receipt that completes
/// once the destination has every record of the batch: what the destination refuses it
/// retries itself (with backoff), for as long as it takes, because the export commits a
/// batch's position only after its receipt completes and the local stream holds the
/// records meanwhile. A destination that sends at once (Kinesis) returns a completed
/// receipt; one that buffers (files) completes it when the object is written. Throws
/// `CancellationError` when its task is cancelled (pause, rewind, stop).
public protocol ExportDestination: Sendable {
    /// For logs and status: what and where, never a secret.
    var description: String { get }
    /// Counters for status (retried, duplicate, unanswered records...), by name.
    var statistics: [String: UInt64] { get }
    /// Why the destination is retrying now (nil once a call went through).
    var failure: String? { get }
    /// The last object or request delivered, and how old its oldest record was then (in
    /// seconds): for status. Nil for destinations that send at once.
    var lastDelivery: (name: String, freshnessSeconds: Double)? { get }
    /// Batches of one shard submitted before the oldest is confirmed: 1 for a destination
    /// that must deliver in order batch by batch, more for one that buffers.
    var batchesInFlight: Int { get }
    func submit(_ batch: ConsumerBatch, stream: String) async throws -> DeliveryReceipt
    /// Before the first batch: clears what a crash left (temporary files, unfinished
    /// uploads). Failures are logged, not fatal.
    func prepare() async
    /// Writes out what is buffered now (at stop); completes its receipts.
    func flush() async
    /// Releases connections; called once the export has stopped.
    func shutdown() async
}

extension ExportDestination {
    public var batchesInFlight: Int { 1 }
    public var lastDelivery: (name: String, freshnessSeconds: Double)? { nil }
    public func prepare() async {}
    /// Nothing buffered: every receipt is complete when `submit` returns.
    public func flush() async {}
}
