import Logging
import SluiceStorage
import Synchronization

/// One shard's spool: a FIFO of records on disk (SPOOL.md), drained in order.
///
/// Appends are durable when they return (the log's group commit and fsync). Reading does
/// not consume: the drain peeks at the head, hands the records to the sink, and only then
/// advances past what the sink stored.
public final class ShardSpool: Sendable {
    let log: ShardLog
    let cursorPath: String
    let fs: any FileSystem
    let time: any TimeSource
    let logger: Logger
    /// When the cursor this spool opened with was written (wall clock; nil without one, or
    /// from a version that did not write it): a drain step after it may be stored already.
    public let cursorSavedAtMillis: Int64?

    private struct Cursor {
        var head: UInt64
        var persisted: UInt64
    }

    private let cursor: Mutex<Cursor>

    static let cursorMagic = "sluice-spool-cursor/1"

    /// Opens (recovering) the spool in `directory`.
    /// - Parameters:
    ///   - keys: master keys when encryption is on; `keyId` the one new segments use.
    public init(
        directory: String, segmentMaxBytes: Int64, keys: (any KeyProvider)?, keyId: String?,
        fileSystem: any FileSystem = PosixFileSystem(), time: any TimeSource = SystemTimeSource(), logger: Logger
    ) throws {
        self.fs = fileSystem
        self.time = time
        self.logger = logger
        cursorPath = directory + "/cursor"
        log = try ShardLog(
            directory: directory,
            options: LogOptions(segmentMaxBytes: segmentMaxBytes, segmentMaxAgeMillis: .max, sync: .always),
            fileSystem: fileSystem, clock: time, keys: keys, logger: logger
        )
        try log.setEncryption(keyId: keyId)
        for torn in log.recoveryReport.tornTails {
            logger.warning("spool: cut a torn tail left by a crash; those records were never acknowledged to their source", metadata: [
                "file": "\(torn.file)", "position": "\(torn.position)", "bytes": "\(torn.bytes)", "kept_in": "\(torn.brokenFile)",
            ])
        }
        for salvage in log.recoveryReport.salvaged {
            logger.error("spool: a segment was damaged inside; the records in the damaged bytes cannot be drained, the rest will be", metadata: [
                "file": "\(salvage.file)", "records_lost": "\(salvage.lostRecords)", "damaged_bytes_in": "\(salvage.damagedBytesIn)",
            ])
        }
        for bad in log.recoveryReport.quarantined {
            logger.error("spool: quarantined a corrupt segment; its records cannot be drained", metadata: [
                "file": "\(bad.file)", "position": "\(bad.position)", "reason": "\(bad.reason)", "moved_to": "\(bad.quarantinedAs)",
            ])
        }
        var head = log.trimHorizon
        var savedAt: Int64?
        if fileSystem.fileExists(cursorPath) {
            let text = String(decoding: try fileSystem.readWholeFile(cursorPath), as: UTF8.self)
            let parts = text.split(whereSeparator: \.isWhitespace)
            // A head past the spool's end was never written by a drain: trusting it would
            // skip every spooled record, so it counts as unreadable.
            if (2...3).contains(parts.count), parts[0] == Self.cursorMagic, let saved = UInt64(parts[1]), saved <= log.endOffset {
                head = max(saved, log.trimHorizon)
                savedAt = parts.count == 3 ? Int64(parts[2]) : nil
            } else {
                logger.warning("spool: unreadable cursor; draining from the oldest spooled record (some may be sent twice)", metadata: [
                    "file": "\(cursorPath)", "spool_end": "\(log.endOffset)",
                ])
            }
        }
        cursorSavedAtMillis = savedAt
        cursor = Mutex(Cursor(head: head, persisted: head))
    }

    /// The offset of the oldest record not yet drained.
    public var head: UInt64 { cursor.withLock { $0.head } }
    public var pendingRecords: UInt64 { log.endOffset - head }
    public var isEmpty: Bool { pendingRecords == 0 }
    /// Bytes the spool's segment files take on disk (what `spool_max_bytes` bounds).
    public var diskBytes: Int64 { log.stats.bytes }

    /// Appends records at the tail; durable on return.
    public func append(_ records: [LogRecord]) async throws {
        // One log append is one frame; a huge batch goes in frame-sized pieces.
        for range in Batches.cut(count: records.count, maxBytes: Frame.maxBodySize / 2, size: { records[$0].size + records[$0].frameOverhead }) {
            _ = try await log.append(Array(records[range]))
        }
    }

    /// Up to `maxRecords` records from the head (at least one when any is pending, however
    /// big), at most `maxBytes` after the first.
    public func peek(maxRecords: Int, maxBytes: Int) throws -> [StoredRecord] {
        try log.read(from: head, maxRecords: maxRecords, maxBytes: maxBytes).records
    }

    /// The highest sequence each producer has among the records still spooled that were
    /// spooled since `sinceMillis`.
    public func highWater(of producers: Set<UInt64>, sinceMillis: Int64) throws -> [UInt64: UInt64] {
        try log.highWater(of: producers, from: max(head, try log.offset(atTimestamp: sinceMillis)))
    }

    /// Moves the head to `newHead` (one past the last record the sink stored), writes the
    /// cursor and deletes segments that are wholly drained.
    public func advance(to newHead: UInt64) throws {
        // Written at every step: a crash must not send drained records again (a step is
        // one put to the sink, so this is one small write per batch, not per record).
        let due = cursor.withLock { c -> UInt64? in
            guard newHead > c.head else { return nil }
            c.head = newHead
            return c.head
        }
        if let due { try persist(due) }
        try log.deleteSegments(before: head)
    }

    /// Drops the oldest segment that still holds pending records: returns how many pending
    /// records went (0 when nothing could be dropped).
    public func dropOldestSegment() throws -> UInt64 {
        let head = self.head
        guard let oldest = log.segmentRanges.first(where: { $0.upperBound > head }) else { return 0 }
        let dropped = oldest.upperBound - max(head, oldest.lowerBound)
        cursor.withLock { $0.head = oldest.upperBound }
        try persist(oldest.upperBound)
        try log.deleteSegments(before: oldest.upperBound)
        return dropped
    }

    /// Writes the cursor now (shutdown) when it moved since the last write.
    public func flushCursor() throws {
        let head = cursor.withLock { $0.persisted == $0.head ? nil : $0.head }
        if let head { try persist(head) }
    }

    private func persist(_ head: UInt64) throws {
        try fs.writeAtomically(cursorPath, Array("\(Self.cursorMagic) \(head) \(time.nowMillis())\n".utf8), mode: 0o600)
        cursor.withLock { c in c.persisted = max(c.persisted, head) }
    }

    public func close() async throws {
        try flushCursor()
        try await log.close()
    }
}
