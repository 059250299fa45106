import Logging
import Metrics
import SluiceStorage
import Synchronization

/// Where a durable consumer starts when it is first created (or rewound).
public enum ConsumerStart: Sendable, Equatable {
    case trimHorizon
    case latest
    case atTimestamp(millis: Int64)
}

/// A batch a durable consumer handed out: one shard's records in order, to be confirmed
/// with `commit` once its handler is done with it.
public struct ConsumerBatch: Sendable {
    public var shardIndex: Int
    public var shardId: String { ShardID.string(shardIndex) }
    public var records: [StoredRecord]
    /// Where the next read of the shard starts; committing the batch stores it.
    public var nextOffset: UInt64
    /// The shard was closed by resharding and this batch reaches its end: committing it
    /// finishes the shard and makes its children readable.
    public var finished: Bool
    public var millisBehindLatest: Int64
    /// Which rewind the batch was read under; a batch read before a rewind is not committed.
    let generation: UInt64
}

extension ConsumerBatch {
    /// Records that belong to no consumer's position — a function's failure records
    /// handed to an export's destination. Such a batch is never committed (no consumer's
    /// generation matches it).
    public static func detached(shardIndex: Int, records: [StoredRecord]) -> ConsumerBatch {
        ConsumerBatch(
            shardIndex: shardIndex, records: records, nextOffset: (records.last?.offset ?? 0) + 1, finished: false,
            millisBehindLatest: 0, generation: .max
        )
    }
}

/// A named reader of every shard of one stream that remembers, durably, how far its
/// handler has confirmed (POSITIONS.md): what exports, delivery streams and functions are
/// built on.
///
/// - Resharding is followed as the KCL follows it: a child shard is readable only once
///   its parents (one after a split, both after a merge) are finished, so records of one
///   partition key are handed over in order.
/// - `commit` writes the position file atomically (fsync, rename, fsync) only after the
///   handler confirmed the batch: a crash repeats at most the batches confirmed after the
///   last completed commit (at-least-once).
/// - Readers wait on the shard's appends (`watch`), never poll.
/// - Records retention or a size bound deleted before they were read are counted
///   (`ConsumerMissedRecords`) and logged with their offsets.
///
/// Thread-safe; one task per readable shard is the intended use.
public final class DurableConsumer: Sendable {
    public let name: String
    public let streamName: String
    public let start: ConsumerStart
    let reader: StreamReader
    let logger: Logger
    let path: String
    private let state: Mutex<State>
    private let missedCounter: Counter

    private struct State {
        var positions: ConsumerPositions
        var generation: UInt64 = 0
        var missed: UInt64 = 0
        var gauges: [Int: (age: Gauge, behind: Gauge)] = [:]
    }

    init(reader: StreamReader, stream: String, name: String, start: ConsumerStart, logger: Logger) throws {
        self.reader = reader
        self.streamName = stream
        self.name = name
        self.start = start
        self.logger = logger
        let handle = try reader.catalog.stream(stream)
        path = ConsumerPositions.path(consumer: name, streamDirectory: handle.directory)
        missedCounter = Counter(label: "ConsumerMissedRecords", dimensions: [("stream", stream), ("consumer", name)])
        let loaded = try Self.loadPositions(path: path, handle: handle, fs: reader.context.fs, logger: logger, consumer: name)
        let positions = try loaded ?? Self.startingPositions(handle: handle, consumer: name, start: start, paused: false)
        state = Mutex(State(positions: positions))
        if loaded == nil { try positions.save(path, fs: reader.context.fs) }
    }

    /// The saved positions, or nil when there are none to trust (none yet, another
    /// stream of the same name, a damaged file — set aside so nothing is lost).
    private static func loadPositions(path: String, handle: StreamHandle, fs: any FileSystem, logger: Logger, consumer: String) throws -> ConsumerPositions? {
        let metadata = handle.metadata
        var positions: ConsumerPositions
        do {
            guard let found = try ConsumerPositions.load(path, fs: fs) else { return nil }
            positions = found
        } catch {
            let aside = path + ".damaged-\(SystemTimeSource().nowMillis())"
            try fs.rename(path, to: aside)
            logger.error("consumer positions unreadable; set aside, starting again from the starting position (records repeat, none is lost)", metadata: [
                "consumer": "\(consumer)", "stream": "\(metadata.name)", "problem": "\(error)", "kept_as": "\(aside)",
            ])
            return nil
        }
        guard positions.streamCreatedAtMillis == metadata.createdAtMillis else {
            logger.notice("consumer positions belong to an earlier stream of the same name; starting again", metadata: [
                "consumer": "\(consumer)", "stream": "\(metadata.name)",
            ])
            return nil
        }
        for shard in metadata.shards {
            guard let position = positions[shard.index], let log = handle.shard(shard.index)?.1.log else { continue }
            if position.next > log.endOffset {
                logger.warning("consumer position is past the end of its shard (the log lost its newest records); reading on from the end", metadata: [
                    "consumer": "\(consumer)", "stream": "\(metadata.name)", "shard": "\(shard.id)",
                    "position": "\(position.next)", "end": "\(log.endOffset)",
                ])
                positions[shard.index]?.next = log.endOffset
            }
        }
        return positions
    }

    /// Positions for a consumer that starts now at `start`, on every shard there is.
    private static func startingPositions(handle: StreamHandle, consumer: String, start: ConsumerStart, paused: Bool) throws -> ConsumerPositions {
        let metadata = handle.metadata
        var positions = ConsumerPositions(consumer: consumer, streamCreatedAtMillis: metadata.createdAtMillis, paused: paused)
        for shard in metadata.shards {
            guard let log = handle.shard(shard.index)?.1.log else { continue }
            switch start {
            case .trimHorizon:
                positions[shard.index] = .init(next: max(log.trimHorizon, shard.startingOffset), finished: false)
            case .latest:
                positions[shard.index] = .init(next: log.endOffset, finished: !shard.isOpen)
            case .atTimestamp(let millis):
                do {
                    positions[shard.index] = .init(next: try log.offset(atTimestamp: millis), finished: false)
                } catch {
                    throw EngineError(.internalFailure, "\(error)")
                }
            }
        }
        return positions
    }

    /// The stream as this consumer knows it; a stream deleted (or re-created) since is gone.
    private func currentStream() throws -> StreamHandle {
        let handle = try reader.catalog.stream(streamName)
        let created = state.withLock { $0.positions.streamCreatedAtMillis }
        guard handle.metadata.createdAtMillis == created else {
            throw EngineError(.resourceNotFound, "Stream \(streamName) was deleted and created again; consumer \(name) must be created again.")
        }
        return handle
    }

    public var isPaused: Bool { state.withLock { $0.positions.paused } }

    /// Shards ready to read now: not finished, and every parent finished. Sorted by index.
    public func readableShards() throws -> [Int] {
        let metadata = try currentStream().metadata
        let known = Set(metadata.shards.map(\.index))
        return state.withLock { s in
            metadata.shards.filter { shard in
                guard s.positions[shard.index]?.finished != true else { return false }
                return [shard.parentIndex, shard.adjacentParentIndex].compactMap { $0 }.allSatisfy { parent in
                    s.positions[parent]?.finished == true || !known.contains(parent)
                }
            }.map(\.index).sorted()
        }
    }

    /// The engine's clock (Unix milliseconds): what arrival timestamps are measured by.
    public func nowMillis() -> Int64 { reader.context.clock.nowMillis() }

    /// The first offset a shard still holds (retention and size bounds delete before it).
    public func trimHorizon(of index: Int) -> UInt64? {
        try? currentStream().shard(index)?.1.log.trimHorizon
    }

    /// Wakes on the shard's appends (and on its close by resharding).
    public func watch(shard index: Int) throws -> AppendWatch {
        guard let (_, shard) = try currentStream().shard(index) else {
            throw EngineError(.resourceNotFound, "Shard \(ShardID.string(index)) of stream \(streamName) does not exist.")
        }
        return AppendWatch(shard)
    }

    /// The next confirmed offset of a shard (its first offset when never read).
    public func position(of index: Int) throws -> UInt64 {
        let handle = try currentStream()
        return state.withLock { $0.positions[index]?.next } ?? handle.shard(index)?.0.startingOffset ?? 0
    }

    /// Reads the records after `offset` (default: the committed position) of one shard.
    public func read(shard index: Int, from offset: UInt64? = nil, maxRecords: Int, maxBytes: Int) throws -> ConsumerBatch {
        let handle = try currentStream()
        guard let (meta, shard) = handle.shard(index) else {
            throw EngineError(.resourceNotFound, "Shard \(ShardID.string(index)) of stream \(streamName) does not exist.")
        }
        let (committed, generation) = state.withLock { ($0.positions[index]?.next, $0.generation) }
        let from = offset ?? committed ?? meta.startingOffset
        let read = try reader.readShard(handle, meta: meta, shard: shard, from: from, maxRecords: maxRecords, maxBytes: maxBytes)
        if let expired = read.expired {
            let count = expired.upperBound - expired.lowerBound
            state.withLock { $0.missed += count }
            missedCounter.increment(by: Int(clamping: count))
            logger.warning("records were deleted (retention or the stream's max_bytes) before this consumer read them", metadata: [
                "consumer": "\(name)", "stream": "\(streamName)", "shard": "\(meta.id)",
                "first_offset": "\(expired.lowerBound)", "end_offset": "\(expired.upperBound)", "records": "\(count)",
            ])
        }
        gauges(index).age.record(read.iteratorAgeMillis)
        return ConsumerBatch(
            shardIndex: index, records: read.records, nextOffset: read.nextOffset, finished: read.children != nil,
            millisBehindLatest: read.millisBehindLatest, generation: generation
        )
    }

    /// Stores that the handler confirmed `batch`: durable when this returns.
    /// - Returns: false when the batch was read before a rewind (and so not committed).
    @discardableResult
    public func commit(_ batch: ConsumerBatch) throws -> Bool {
        let handle = try currentStream()
        let end = handle.shard(batch.shardIndex)?.1.log.endOffset ?? batch.nextOffset
        return try state.withLock { s in
            guard s.generation == batch.generation else { return false }
            var updated = s.positions
            updated[batch.shardIndex] = .init(next: batch.nextOffset, finished: batch.finished)
            try updated.save(path, fs: reader.context.fs)
            s.positions = updated
            gaugesLocked(&s, batch.shardIndex).behind.record(end > batch.nextOffset ? Int64(end - batch.nextOffset) : 0)
            return true
        }
    }

    /// Pauses or resumes the consumer; kept across restarts.
    public func setPaused(_ paused: Bool) throws {
        try state.withLock { s in
            var updated = s.positions
            updated.paused = paused
            try updated.save(path, fs: reader.context.fs)
            s.positions = updated
        }
    }

    /// Starts the consumer again at `start` on every shard (batches read before are not
    /// committed). The paused flag is kept.
    public func rewind(to start: ConsumerStart) throws {
        let handle = try currentStream()
        try state.withLock { s in
            let updated = try Self.startingPositions(handle: handle, consumer: name, start: start, paused: s.positions.paused)
            try updated.save(path, fs: reader.context.fs)
            s.positions = updated
            s.generation += 1
        }
        logger.notice("consumer rewound", metadata: ["consumer": "\(name)", "stream": "\(streamName)", "to": "\(start)"])
    }

    private func gauges(_ index: Int) -> (age: Gauge, behind: Gauge) {
        state.withLock { gaugesLocked(&$0, index) }
    }

    private func gaugesLocked(_ s: inout State, _ index: Int) -> (age: Gauge, behind: Gauge) {
        if let made = s.gauges[index] { return made }
        let dimensions = [("stream", streamName), ("consumer", name), ("shard", ShardID.string(index))]
        let made = (Gauge(label: "IteratorAgeMilliseconds", dimensions: dimensions), Gauge(label: "ConsumerRecordsBehind", dimensions: dimensions))
        s.gauges[index] = made
        return made
    }

    /// Where the consumer stands, per shard, read live from the logs.
    public func status() -> ConsumerStatus {
        let (positions, missed) = state.withLock { ($0.positions, $0.missed) }
        var shards: [ConsumerStatus.Shard] = []
        if let handle = try? currentStream() {
            let now = reader.context.clock.nowMillis()
            for meta in handle.metadata.shards {
                guard let log = handle.shard(meta.index)?.1.log else { continue }
                let position = positions[meta.index]
                let next = max(position?.next ?? meta.startingOffset, log.trimHorizon)
                let end = log.endOffset
                let behind = position?.finished == true || next >= end ? 0 : end - next
                var age: Int64 = 0
                if behind > 0, let oldest = try? log.read(from: next, maxRecords: 1, maxBytes: 1).records.first {
                    age = max(0, now - oldest.timestampMillis)
                }
                shards.append(.init(
                    shardId: meta.id, nextSequenceNumber: SequenceNumber(shardIndex: meta.index, offset: next).description,
                    finished: position?.finished ?? false, recordsBehind: behind, iteratorAgeMilliseconds: age
                ))
            }
        }
        return ConsumerStatus(name: name, stream: streamName, paused: positions.paused, missedRecords: missed, shards: shards)
    }
}

/// A durable consumer's standing, for `/status` and `sluice status`.
public struct ConsumerStatus: Codable, Sendable, Equatable {
    public struct Shard: Codable, Sendable, Equatable {
        public var shardId: String
        public var nextSequenceNumber: String
        public var finished: Bool
        public var recordsBehind: UInt64
        /// Age of the oldest record not yet confirmed (0 when caught up), as CloudWatch's
        /// IteratorAgeMilliseconds.
        public var iteratorAgeMilliseconds: Int64
    }

    public var name: String
    public var stream: String
    public var paused: Bool
    /// Records deleted before this consumer read them, since the start.
    public var missedRecords: UInt64
    public var shards: [Shard]
}

extension StreamReader {
    /// Opens (creating on first use) the durable consumer `name` of a stream.
    /// - Parameter start: where a new consumer starts; an existing one resumes where it
    ///   stands.
    public func durableConsumer(stream: String, name: String, start: ConsumerStart = .trimHorizon, logger: Logger? = nil) throws -> DurableConsumer {
        try DurableConsumer(reader: self, stream: stream, name: name, start: start, logger: logger ?? context.logger)
    }
}
