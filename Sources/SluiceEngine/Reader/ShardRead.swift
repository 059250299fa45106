import CoreMetrics
import SluiceStorage

/// One read of one shard as every reader takes it — GetRecords, enhanced fan-out
/// subscriptions and durable consumers — so that expiry, lag, the end of a closed shard
/// and the outgoing metrics mean the same thing to all of them.
struct ShardRead {
    var records: [StoredRecord]
    /// One past the last record returned: where the next read starts.
    var nextOffset: UInt64
    /// One past the newest committed record when the read was taken.
    var endOffset: UInt64
    /// Offsets the reader asked for that were gone (retention, a size bound) before it
    /// came: `from..<trim horizon`. Nil when nothing was missed.
    var expired: Range<UInt64>?
    /// Data plus partition key, summed over `records`.
    var bytes: Int
    /// Age of the newest record returned while the reader is behind; zero once it caught up.
    var millisBehindLatest: Int64
    /// Age of the first record returned while behind (CloudWatch's IteratorAgeMilliseconds).
    var iteratorAgeMillis: Int64
    /// The children of a closed shard, once it has been read to its end.
    var children: [ChildShard]?

    var caughtUp: Bool { nextOffset >= endOffset }
}

extension StreamReader {
    /// Reads up to `maxRecords` records and (after the first) `maxBytes` bytes of one shard
    /// from `offset`; `maxBytes <= 0` reads nothing (a reader out of allowance).
    func readShard(_ stream: StreamHandle, meta: ShardMetadata, shard: ShardHandle, from offset: UInt64, maxRecords: Int, maxBytes: Int) throws -> ShardRead {
        // Read before the trim horizon is taken: a segment deleted in between shows as
        // missed rather than going unnoticed.
        let result: ReadResult
        do {
            result = maxBytes > 0
                ? try shard.log.read(from: offset, maxRecords: maxRecords, maxBytes: maxBytes)
                : ReadResult(records: [], nextOffset: offset, endOffset: shard.log.endOffset)
        } catch {
            throw EngineError(.internalFailure, "\(error)")
        }
        let bytes = result.records.reduce(0) { $0 + $1.size }
        shard.metrics.outgoingRecords.increment(by: result.records.count)
        shard.metrics.outgoingBytes.increment(by: bytes)
        let now = context.clock.nowMillis()
        let caughtUp = result.nextOffset >= result.endOffset
        var children: [ChildShard]?
        if let end = meta.endOffset, result.nextOffset >= end {
            children = childShards(of: meta.index, in: stream.metadata)
        }
        // What the log skipped: it starts a read at its trim horizon when `offset` is gone.
        let firstRead = result.records.first?.offset ?? result.nextOffset
        return ShardRead(
            records: result.records, nextOffset: result.nextOffset, endOffset: result.endOffset,
            expired: offset < firstRead && maxBytes > 0 ? offset..<firstRead : nil,
            bytes: bytes,
            millisBehindLatest: caughtUp ? 0 : max(0, now - (result.records.last?.timestampMillis ?? now)),
            iteratorAgeMillis: caughtUp ? 0 : max(0, now - (result.records.first?.timestampMillis ?? now)),
            children: children
        )
    }
}
