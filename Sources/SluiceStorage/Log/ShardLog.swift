import Crypto
import Dispatch
import Logging
import Synchronization

/// The append-only log of one shard: a directory of segment files (FORMAT.md).
///
/// Appends are group-committed: each append encodes its frame under a lock, and one flush
/// on the log's I/O queue writes and fsyncs everything that has piled up since the last
/// flush, then acknowledges all of it at once. Only committed (durable) records are
/// visible to readers, so a reader never sees a record that a crash could take back.
public final class ShardLog: Sendable {
    public let directory: String
    let options: LogOptions
    let fs: any FileSystem
    let clock: any TimeSource
    let logger: Logger
    /// Master keys, when encryption at rest is configured.
    let keys: (any KeyProvider)?
    let ioQueue: DispatchQueue
    let state: Mutex<State>
    /// What recovery found when the log was opened.
    public let recoveryReport: RecoveryReport

    struct Waiter {
        let continuation: CheckedContinuation<AppendResult, any Error>
        let result: AppendResult
    }

    /// Bytes waiting to be written to one segment; `header` is set when the flush must
    /// create the segment first.
    struct PendingChunk {
        var base: UInt64
        var header: SegmentHeader?
        var dataKey: SymmetricKey?
        var position: Int64
        var bytes: [UInt8]
        var frames: [(summary: RecordBatch.Summary, position: Int64, size: Int64)] = []
    }

    struct State {
        /// Committed segments, oldest first.
        var segments: [SegmentInfo]
        /// Where appends go: `segments.last` when it is open for appends, or a segment
        /// still pending creation; nil when the next append must create one.
        var tailBase: UInt64?
        var tailPosition: Int64 = 0
        var tailCreatedAt: Int64 = 0
        /// The tail's data key (nil: plain) and master key id.
        var tailDataKey: SymmetricKey?
        var tailKeyId: String?
        /// The master key id new segments are encrypted under; nil for plain segments.
        var encryptionKeyId: String?
        /// Reused for each sealed frame's plaintext.
        var scratch: [UInt8] = []
        var nextOffset: UInt64
        var committedOffset: UInt64
        var lastTimestamp: Int64
        var pending: [PendingChunk] = []
        var waiters: [Waiter] = []
        var flushing = false
        /// Whether `segments.last` accepts appends (false after its quarantine or expiry).
        var lastIsOpen = false
        var unsynced = false
        var failure: StorageError?
        var closed = false
    }

    /// Opens the log in `directory`, creating it if needed, and recovers it: every
    /// segment is scanned, a torn tail is cut (kept in `.broken`), a corrupt segment is
    /// quarantined; the index is rebuilt from what is found.
    public init(
        directory: String,
        options: LogOptions = LogOptions(),
        fileSystem: any FileSystem = PosixFileSystem(),
        clock: any TimeSource = SystemTimeSource(),
        keys: (any KeyProvider)? = nil,
        logger: Logger = Logger(label: "sluice.storage")
    ) throws {
        self.directory = directory
        self.options = options
        self.fs = fileSystem
        self.clock = clock
        self.keys = keys
        self.logger = logger
        self.ioQueue = DispatchQueue(label: "sluice.log.\(directory)")
        try fileSystem.createDirectories(directory)
        let recovered = try ShardLogRecovery(directory: directory, fs: fileSystem, options: options, keys: keys, logger: logger).run()
        recoveryReport = recovered.report
        var initial = State(
            segments: recovered.segments,
            nextOffset: recovered.nextOffset,
            committedOffset: recovered.nextOffset,
            lastTimestamp: recovered.segments.compactMap(\.lastTimestamp).last ?? 0
        )
        if recovered.tailIsOpen, let last = recovered.segments.last {
            initial.lastIsOpen = true
            initial.tailBase = last.segment.baseOffset
            initial.tailPosition = last.size
            initial.tailCreatedAt = last.segment.header.createdAtMillis
            initial.tailDataKey = last.segment.dataKey
            initial.tailKeyId = try? last.segment.header.isEncrypted ? DataKeyEnvelope.decode(last.segment.header.envelope).keyId : nil
        }
        state = Mutex(initial)
    }

    /// Encrypts new segments under master key `keyId` (nil: new segments are plain). The
    /// next append starts a new segment when the current one is sealed differently, so a
    /// segment is always either wholly encrypted or wholly plain.
    /// - Throws: `.keyUnavailable` when no key file is configured or it lacks `keyId`.
    public func setEncryption(keyId: String?) throws {
        if let keyId {
            guard let keys else {
                throw StorageError(.keyUnavailable, "encryption needs a key file; set [encryption] key_file")
            }
            _ = try keys.activeKey(id: keyId)
        }
        state.withLock { $0.encryptionKeyId = keyId }
    }

    // MARK: - Appending

    /// Appends `records` as one batch and returns once they are durable (per the sync
    /// policy). Records keep their order and get consecutive offsets.
    /// - Throws: `StorageError` with `.diskFull` or `.io` when the write failed; then
    ///   nothing of this append is stored and everything committed before is intact.
    public func append(_ records: [LogRecord]) async throws -> AppendResult {
        precondition(!records.isEmpty, "append needs at least one record")
        let frameSize = Frame.headerSize + RecordBatch.headerSize
            + records.reduce(0) { $0 + RecordBatch.recordOverhead + $1.size }
        guard frameSize <= Frame.maxBodySize else {
            throw StorageError(.invalidArgument, "a batch of \(frameSize) bytes is over the \(Frame.maxBodySize)-byte frame limit")
        }
        let now = clock.nowMillis()
        return try await withCheckedThrowingContinuation { continuation in
            let outcome = state.withLock { s -> Result<Bool, StorageError> in
                if let failure = s.failure { return .failure(failure) }
                if s.closed { return .failure(StorageError(.closed, "the log in \(directory) is closed")) }
                let timestamp = max(now, s.lastTimestamp)
                do {
                    try prepareTail(&s, frameSize: Int64(frameSize), now: now)
                } catch {
                    return .failure((error as? StorageError) ?? StorageError(.io(errno: 0), "\(error)"))
                }
                let position = s.tailPosition
                let last = s.pending.count - 1
                let before = s.pending[last].bytes.count
                if let dataKey = s.tailDataKey {
                    do {
                        try RecordBatch.appendSealedFrame(
                            to: &s.pending[last].bytes, records: records, firstOffset: s.nextOffset, timestamp: timestamp,
                            dataKey: dataKey, context: SegmentContext(label: contextLabel, baseOffset: s.tailBase!),
                            position: position, scratch: &s.scratch
                        )
                    } catch {
                        s.pending[last].bytes.removeLast(s.pending[last].bytes.count - before)
                        return .failure(StorageError(.io(errno: 0), "sealing a frame failed: \(error)"))
                    }
                } else {
                    RecordBatch.appendFrame(to: &s.pending[last].bytes, records: records, firstOffset: s.nextOffset, timestamp: timestamp)
                }
                let size = Int64(s.pending[last].bytes.count - before)
                let summary = RecordBatch.Summary(
                    kind: s.tailDataKey == nil ? RecordBatch.plainKind : RecordBatch.sealedKind,
                    firstOffset: s.nextOffset, count: UInt32(records.count),
                    firstTimestamp: timestamp, lastTimestamp: timestamp
                )
                s.pending[last].frames.append((summary, position, size))
                s.tailPosition += size
                let result = AppendResult(firstOffset: s.nextOffset, count: records.count, timestampMillis: timestamp)
                s.nextOffset += UInt64(records.count)
                s.lastTimestamp = timestamp
                s.waiters.append(Waiter(continuation: continuation, result: result))
                if s.flushing { return .success(false) }
                s.flushing = true
                return .success(true)
            }
            switch outcome {
            case .failure(let error): continuation.resume(throwing: error)
            case .success(true): ioQueue.async { self.flushLoop() }
            case .success(false): break
            }
        }
    }

    /// `stream/shardId-…`: what every data key and frame of this log is bound to.
    var contextLabel: String { SegmentContext.label(forShardDirectory: directory) }

    /// Makes sure the last pending chunk is where the next frame goes, rolling to a new
    /// segment when the tail is full, too old, or missing.
    private func prepareTail(_ s: inout State, frameSize: Int64, now: Int64) throws {
        let mustRoll: Bool
        if let base = s.tailBase {
            let headerEnd = s.pending.last(where: { $0.base == base })?.header?.encodedSize
                ?? s.segments.last.map { Int($0.segment.headerSize) } ?? 0
            let hasFrames = s.tailPosition > Int64(headerEnd)
            let full = s.tailPosition + frameSize > options.segmentMaxBytes && hasFrames
            let old = now - s.tailCreatedAt >= options.segmentMaxAgeMillis && hasFrames
            mustRoll = full || old || s.tailKeyId != s.encryptionKeyId
        } else {
            mustRoll = true
        }
        if mustRoll {
            var dataKey: SymmetricKey?
            var envelope: [UInt8] = []
            if let keyId = s.encryptionKeyId, let keys {
                let context = SegmentContext(label: contextLabel, baseOffset: s.nextOffset)
                let (key, wrapped) = try DataKeyEnvelope.create(master: try keys.activeKey(id: keyId), context: context)
                dataKey = key
                envelope = wrapped.encode()
            }
            let header = SegmentHeader(baseOffset: s.nextOffset, createdAtMillis: now, envelope: envelope)
            s.pending.append(PendingChunk(base: s.nextOffset, header: header, dataKey: dataKey, position: 0, bytes: header.encode()))
            s.tailBase = s.nextOffset
            s.tailPosition = Int64(header.encodedSize)
            s.tailCreatedAt = now
            s.tailDataKey = dataKey
            s.tailKeyId = s.encryptionKeyId
        } else if s.pending.last?.base != s.tailBase {
            s.pending.append(PendingChunk(base: s.tailBase!, header: nil, dataKey: s.tailDataKey, position: s.tailPosition, bytes: []))
        }
    }

    /// Runs on the I/O queue until nothing is pending: write, fsync, commit, acknowledge.
    private func flushLoop() {
        while true {
            let batch = state.withLock { s -> ([PendingChunk], [Waiter], Segment?)? in
                if s.pending.isEmpty {
                    s.flushing = false
                    return nil
                }
                defer {
                    s.pending = []
                    s.waiters = []
                }
                return (s.pending, s.waiters, s.segments.last?.segment)
            }
            guard let (chunks, waiters, lastCommitted) = batch else { return }
            var created: [Segment] = []
            do {
                for (k, chunk) in chunks.enumerated() {
                    let segment: Segment
                    if let header = chunk.header {
                        let path = directory + "/" + Segment.fileName(baseOffset: chunk.base)
                        let file = try fs.openFile(path, create: true)
                        try file.truncate(to: 0)
                        segment = Segment(baseOffset: chunk.base, path: path, header: header, file: file, dataKey: chunk.dataKey)
                        created.append(segment)
                    } else {
                        segment = created.last ?? lastCommitted!
                    }
                    try segment.file.write(chunk.bytes, at: chunk.position)
                    // A segment is complete on disk before the next one exists, so only the
                    // newest segment of a shard can ever have a torn tail.
                    if options.sync == .always || k < chunks.count - 1 { try segment.file.sync() }
                }
                if !created.isEmpty { try fs.syncDirectory(directory) }
            } catch {
                fail(chunks: chunks, created: created, lastCommitted: lastCommitted, waiters: waiters, error: error)
                continue
            }
            state.withLock { s in
                var createdIterator = created.makeIterator()
                for chunk in chunks {
                    if chunk.header != nil {
                        s.segments.append(SegmentInfo(segment: createdIterator.next()!))
                        s.lastIsOpen = true
                    }
                    let last = s.segments.count - 1
                    for frame in chunk.frames {
                        s.segments[last].add(frame.summary, at: frame.position, frameSize: frame.size, indexInterval: options.indexIntervalBytes)
                        s.committedOffset = frame.summary.endOffset
                    }
                }
                if options.sync == .periodic { s.unsynced = true }
            }
            for waiter in waiters { waiter.continuation.resume(returning: waiter.result) }
        }
    }

    /// A write or fsync failed: take back everything not committed (truncate the files to
    /// their committed size, remove segments this flush created) and fail every append
    /// that was waiting, including those queued behind the failed flush.
    private func fail(chunks: [PendingChunk], created: [Segment], lastCommitted: Segment?, waiters: [Waiter], error: any Error) {
        var cleanup: StorageError?
        for segment in created {
            do { try fs.removeFile(segment.path) } catch { cleanup = error as? StorageError }
        }
        if let first = chunks.first, first.header == nil, let segment = lastCommitted {
            do { try segment.file.truncate(to: first.position) } catch { cleanup = error as? StorageError }
        }
        let storageError = (error as? StorageError) ?? StorageError(.io(errno: 0), "\(error)")
        let queued = state.withLock { s -> [Waiter] in
            let queued = s.waiters
            s.waiters = []
            s.pending = []
            s.nextOffset = s.committedOffset
            if s.lastIsOpen, let last = s.segments.last {
                s.tailBase = last.segment.baseOffset
                s.tailPosition = last.size
                s.tailCreatedAt = last.segment.header.createdAtMillis
                s.tailDataKey = last.segment.dataKey
                s.tailKeyId = try? last.segment.header.isEncrypted ? DataKeyEnvelope.decode(last.segment.header.envelope).keyId : nil
            } else {
                s.tailBase = nil
            }
            // After a failed fsync the kernel may have dropped the dirty pages: nothing
            // written since the last good fsync can be trusted until recovery re-reads it.
            if case .io = storageError.code {
                s.failure = StorageError(.unavailable, "\(storageError.message); writes to \(directory) are refused until sluiced restarts and recovers the log")
            }
            if let cleanup {
                s.failure = StorageError(.unavailable, "\(cleanup.message) while undoing a failed write; writes to \(directory) are refused until sluiced restarts")
            }
            return queued
        }
        logger.error("append failed", metadata: ["directory": "\(directory)", "error": "\(storageError.message)"])
        for waiter in waiters + queued { waiter.continuation.resume(throwing: storageError) }
    }
}
