/// A restarted producer's warning to the gateway: records of these producers (files whose
/// checkpoints a source resumed) may come again, and those stored since `sinceMillis` must
/// not be stored twice. Each shard lane answers it once, before it takes another record:
/// it looks up, in its log and its spool, the highest sequence each producer already has
/// there, and skips records at or below it (RecordOrigin).
struct RepeatRequest: Sendable, Equatable {
    /// Grows with every request, so a lane knows whether it answered the latest.
    var id: UInt64
    var producers: Set<UInt64>
    var sinceMillis: Int64

    /// This request widened by another: every producer, the earlier bound.
    func merged(producers more: Set<UInt64>, sinceMillis other: Int64) -> RepeatRequest {
        RepeatRequest(id: id + 1, producers: producers.union(more), sinceMillis: min(sinceMillis, other))
    }
}
