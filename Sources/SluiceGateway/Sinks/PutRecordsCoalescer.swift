import SluiceEngine
import Synchronization

/// Gathers the puts of all shard lanes of a stream for up to `linger` into shared
/// PutRecords calls (at most 500 records and 5 MiB each), so a stream of many quiet shards
/// makes few requests instead of one per shard per record. A batch that fills goes at
/// once; each caller gets the outcomes of its own records, in order.
final class PutRecordsCoalescer: Sendable {
    typealias Send = @Sendable (_ stream: String, _ records: [PutRecordInput]) async throws -> [SinkOutcome]

    private struct Waiter {
        var range: Range<Int>
        var continuation: CheckedContinuation<[SinkOutcome], any Error>
    }

    private struct Batch {
        var records: [PutRecordInput] = []
        var bytes = 0
        var waiters: [Waiter] = []
        var timerArmed = false
    }

    let linger: Duration
    let maxRecords: Int
    let maxBytes: Int
    private let send: Send
    private let batches = Mutex<[String: Batch]>([:])

    init(linger: Duration, maxRecords: Int, maxBytes: Int, send: @escaping Send) {
        self.linger = linger
        self.maxRecords = maxRecords
        self.maxBytes = maxBytes
        self.send = send
    }

    /// Queues `records` (at most one call's worth) and returns their outcomes once the
    /// batch holding them was sent.
    func put(stream: String, records: [PutRecordInput]) async throws -> [SinkOutcome] {
        let bytes = records.reduce(0) { $0 + $1.data.count + $1.partitionKey.utf8.count }
        return try await withCheckedThrowingContinuation { continuation in
            var ready: [Batch] = []
            var armTimer = false
            batches.withLock { all in
                var batch = all[stream] ?? Batch()
                if !batch.records.isEmpty, batch.records.count + records.count > maxRecords || batch.bytes + bytes > maxBytes {
                    ready.append(batch)
                    batch = Batch()
                }
                let start = batch.records.count
                batch.records += records
                batch.bytes += bytes
                batch.waiters.append(Waiter(range: start..<batch.records.count, continuation: continuation))
                if batch.records.count >= maxRecords || batch.bytes >= maxBytes {
                    ready.append(batch)
                    batch = Batch()
                } else if !batch.timerArmed {
                    batch.timerArmed = true
                    armTimer = true
                }
                all[stream] = batch
            }
            for batch in ready { Task { await self.flush(batch, stream: stream) } }
            if armTimer {
                Task {
                    try? await Task.sleep(for: self.linger)
                    let due = self.batches.withLock { all -> Batch? in
                        guard let batch = all[stream], !batch.records.isEmpty else { return nil }
                        all[stream] = Batch()
                        return batch
                    }
                    if let due { await self.flush(due, stream: stream) }
                }
            }
        }
    }

    private func flush(_ batch: Batch, stream: String) async {
        do {
            let outcomes = try await send(stream, batch.records)
            for waiter in batch.waiters { waiter.continuation.resume(returning: Array(outcomes[waiter.range])) }
        } catch {
            for waiter in batch.waiters { waiter.continuation.resume(throwing: error) }
        }
    }
}
