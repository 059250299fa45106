import Logging
import Metrics
import SluiceStorage
import Synchronization

/// A stream's size bound on disk (`[[streams]] max_bytes`, `on_full`): the local stream is
/// the buffer in front of exports whose remote may be away for days, on a disk that is
/// not large. As Greengrass Stream Manager's `StrategyOnFull`.
public struct StorageBound: Sendable, Equatable {
    public enum OnFull: String, Sendable, CaseIterable {
        /// Puts are answered ProvisionedThroughputExceededException until space frees up
        /// (retention); the gateway's sources hold their records (spool, block): nothing lost.
        case reject
        /// The oldest whole segments go, counted and logged (Greengrass' OverwriteOldestData).
        case dropOldest = "drop_oldest"
    }

    public var maxBytes: Int64
    public var onFull: OnFull

    public init(maxBytes: Int64, onFull: OnFull) {
        self.maxBytes = maxBytes
        self.onFull = onFull
    }
}

/// A stream's bound and what it did, for `/status` and `sluice status`.
public struct StreamStorageStatus: Codable, Sendable, Equatable {
    public var stream: String
    public var bytes: Int64
    public var records: UInt64
    public var maxBytes: Int64?
    public var onFull: String?
    public var droppedRecords: UInt64
    public var droppedBytes: Int64
    public var rejectedRecords: UInt64
}

/// One stream's bound, counters and metrics.
final class StreamStorage: Sendable {
    struct Counts {
        var bound: StorageBound?
        var droppedRecords: UInt64 = 0
        var droppedBytes: Int64 = 0
        var rejectedRecords: UInt64 = 0
        /// Set while one task deletes segments, so concurrent puts do not pile on.
        var trimming = false
    }

    let counts = Mutex(Counts())
    let droppedRecords: Counter
    let droppedBytes: Counter
    let rejectedRecords: Counter

    init(stream: String) {
        droppedRecords = Counter(label: "StreamDroppedRecords", dimensions: [("stream", stream)])
        droppedBytes = Counter(label: "StreamDroppedBytes", dimensions: [("stream", stream)])
        rejectedRecords = Counter(label: "StreamRejectedRecords", dimensions: [("stream", stream)])
    }
}

extension StreamWriter {
    func storage(of name: String) -> StreamStorage {
        storageByStream.withLock { all in
            if let found = all[name] { return found }
            let made = StreamStorage(stream: name)
            all[name] = made
            return made
        }
    }

    /// Sets (or with nil removes) a stream's size bound; applied from the next put on.
    public func setStorageBound(stream name: String, _ bound: StorageBound?) {
        storage(of: name).counts.withLock { $0.bound = bound }
    }

    /// Bytes and records the stream's logs hold now (every shard, open or closed).
    func storedTotals(_ handle: StreamHandle) -> (bytes: Int64, records: UInt64) {
        handle.allShards.reduce((Int64(0), UInt64(0))) { sum, shard in
            let stats = shard.log.stats
            return (sum.0 + stats.bytes, sum.1 + stats.records)
        }
    }

    /// With `on_full = "reject"`: the error every record of a put gets while the stream is
    /// at its bound; nil when there is room (or no such bound).
    func storageRefusal(_ handle: StreamHandle, records: Int) -> EngineError? {
        let storage = storage(of: handle.name)
        guard let bound = storage.counts.withLock({ $0.bound }), bound.onFull == .reject else { return nil }
        guard storedTotals(handle).bytes >= bound.maxBytes else { return nil }
        storage.counts.withLock { $0.rejectedRecords += UInt64(records) }
        storage.rejectedRecords.increment(by: records)
        return EngineError(.provisionedThroughputExceeded, "Stream \(handle.name) under account \(context.accountId) is full: it holds its max_bytes of \(bound.maxBytes) bytes and on_full is \"reject\". Retry later; space frees as retention deletes records.")
    }

    /// With `on_full = "drop_oldest"`: deletes the oldest whole segments (oldest by their
    /// newest record, across the stream's shards) until the stream fits its bound.
    func trimToStorageBound(_ handle: StreamHandle) {
        let storage = storage(of: handle.name)
        let bound = storage.counts.withLock { c -> StorageBound? in
            guard let bound = c.bound, bound.onFull == .dropOldest, !c.trimming else { return nil }
            c.trimming = true
            return bound
        }
        guard let bound else { return }
        defer { storage.counts.withLock { $0.trimming = false } }
        while storedTotals(handle).bytes > bound.maxBytes {
            // Each shard's oldest segment, oldest first. A shard whose only segment is its
            // open tail cannot give it up while a flush is still finishing; the next oldest
            // is tried instead, so the bound holds as soon as the put returns.
            let candidates = handle.allShards.compactMap { shard in
                shard.log.committedSegments.first.map { (shard, $0) }
            }.sorted { ($0.1.lastTimestamp ?? .max) < ($1.1.lastTimestamp ?? .max) }
            var deleted: (ShardHandle, SegmentInfo)?
            for (shard, segment) in candidates {
                do {
                    if try shard.log.deleteSegments(before: segment.endOffset) > 0 {
                        deleted = (shard, segment)
                        break
                    }
                } catch {
                    context.failureLog.log(context.logger, .error, "could not delete the oldest segment to fit max_bytes", metadata: [
                        "stream": "\(handle.name)", "shard": "\(shard.id)", "error": "\(error)",
                    ])
                    return
                }
            }
            guard let (shard, segment) = deleted else { return }
            storage.counts.withLock {
                $0.droppedRecords += segment.recordCount
                $0.droppedBytes += segment.size
            }
            storage.droppedRecords.increment(by: Int(clamping: segment.recordCount))
            storage.droppedBytes.increment(by: Int(clamping: segment.size))
            context.logger.warning("stream over its max_bytes: dropped its oldest segment", metadata: [
                "stream": "\(handle.name)", "shard": "\(shard.id)", "first_offset": "\(segment.firstOffset)",
                "end_offset": "\(segment.endOffset)", "records": "\(segment.recordCount)", "bytes": "\(segment.size)",
            ])
        }
    }

    /// Every stream's size, bound and what the bound did.
    public func storageStatus() -> [StreamStorageStatus] {
        let handles = catalog.allStreams.sorted { $0.name < $1.name }
        return handles.map { handle in
            let totals = storedTotals(handle)
            let counts = storage(of: handle.name).counts.withLock { $0 }
            return StreamStorageStatus(
                stream: handle.name, bytes: totals.bytes, records: totals.records, maxBytes: counts.bound?.maxBytes,
                onFull: counts.bound?.onFull.rawValue, droppedRecords: counts.droppedRecords, droppedBytes: counts.droppedBytes,
                rejectedRecords: counts.rejectedRecords
            )
        }
    }
}
