import SluiceEngine

/// Where an export hands its records: one implementation per `[[exports]] kind`.
///
/// `deliver` gets one local shard's batch, in order, and returns only once the destination
/// has accepted every record of it: what the destination refuses it retries itself (with
/// backoff), for as long as it takes, because the export commits its position only after
/// `deliver` returns and the local stream holds the records meanwhile. It throws
/// `CancellationError` when its task is cancelled (pause, rewind, stop).
public protocol ExportDestination: Sendable {
    /// For logs and status: what and where, never a secret.
    var description: String { get }
    /// Counters for status (retried, duplicate, unanswered records...), by name.
    var statistics: [String: UInt64] { get }
    /// Why the destination is retrying now (nil once a call went through).
    var failure: String? { get }
    func deliver(_ batch: ConsumerBatch, stream: String) async throws
    /// Releases connections; called once the export has stopped.
    func shutdown() async
}
