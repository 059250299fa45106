import Crypto
import Dispatch
import Logging
import Synchronization

/// The append-only log of one shard: a directory of segment files (FORMAT.md).
///
/// Appends are group-committed: an append only takes its offsets and arrival time under a
/// lock and queues its records; one flush on the log's I/O queue encodes everything queued
/// since the last flush into one frame per segment (one CRC, and one AES-GCM seal when
/// encrypted), writes and fsyncs it, then acknowledges all of it at once. Only committed
/// (durable) records are visible to readers, so a reader never sees a record that a crash
/// could take back.
public final class ShardLog: Sendable {
    public let directory: String
    let options: LogOptions
    let fs: any FileSystem
    let clock: any TimeSource
    let logger: Logger
    /// Failed appends repeat as fast as clients retry: one line per 10 s at most.
    let failureLog = LogRateLimit()
    /// Master keys, when encryption at rest is configured.
    let keys: (any KeyProvider)?
    /// Makes small flushes durable together with other shards' (nil: every flush fsyncs
    /// its own segment file).
    let journal: CommitJournal?
    let ioQueue: DispatchQueue
    let state: Mutex<State>
    /// What recovery found when the log was opened.
    public let recoveryReport: RecoveryReport

    struct Waiter {
        let continuation: CheckedContinuation<AppendResult, any Error>
        let result: AppendResult
    }

    /// An append waiting for the next flush.
    struct QueuedAppend {
        let records: [LogRecord]
        let timestamp: Int64
        let waiter: Waiter
    }

    /// The segment appends go to, as the flush sees and moves it.
    struct Tail {
        var base: UInt64?
        var position: Int64 = 0
        var createdAt: Int64 = 0
        var dataKey: SymmetricKey?
        var keyId: String?
        /// The open file when the tail is already on disk.
        var segment: Segment?
        /// Where its frames start (header size), to tell an empty tail from a used one.
        var headerEnd: Int64 = 0

        init() {}

        init(committed segment: Segment, size: Int64) {
            base = segment.baseOffset
            position = size
            createdAt = segment.header.createdAtMillis
            dataKey = segment.dataKey
            keyId = segment.header.isEncrypted ? (try? DataKeyEnvelope.decode(segment.header.envelope))?.keyId : nil
            self.segment = segment
            headerEnd = segment.headerSize
        }
    }

    /// Bytes one flush writes to one segment; `header` is set when it must create it.
    struct Chunk {
        var base: UInt64
        var header: SegmentHeader?
        var dataKey: SymmetricKey?
        var segment: Segment?
        var position: Int64
        var bytes: [UInt8]
        var frames: [(summary: RecordBatch.Summary, position: Int64, size: Int64)] = []
    }

    struct State {
        /// Committed segments, oldest first.
        var segments: [SegmentInfo]
        /// Where appends go: the committed `segments.last` when it takes appends, else
        /// empty (the next flush creates a segment). Changed only by flushes and retention.
        var tail = Tail()
        /// The master key id new segments are encrypted under; nil for plain segments.
        var encryptionKeyId: String?
        var nextOffset: UInt64
        var committedOffset: UInt64
        var lastTimestamp: Int64
        var queue: [QueuedAppend] = []
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
        journal: CommitJournal? = nil,
        logger: Logger = Logger(label: "sluice.storage")
    ) throws {
        self.directory = directory
        self.journal = journal
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
            initial.tail = Tail(committed: last.segment, size: last.size)
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

    /// The largest frame body a flush builds; more queued records go into further frames.
    static let flushFrameTarget = 4 << 20

    /// Appends `records` as one batch and returns once they are durable (per the sync
    /// policy). Records keep their order and get consecutive offsets.
    /// - Throws: `StorageError` with `.diskFull` or `.io` when the write failed; then
    ///   nothing of this append is stored and everything committed before is intact.
    public func append(_ records: [LogRecord]) async throws -> AppendResult {
        precondition(!records.isEmpty, "append needs at least one record")
        let frameSize = Frame.headerSize + RecordBatch.headerSize + RecordBatch.sealOverhead
            + records.reduce(0) { $0 + $1.frameOverhead + $1.size }
        guard frameSize <= Frame.maxBodySize else {
            throw StorageError(.invalidArgument, "a batch of \(frameSize) bytes is over the \(Frame.maxBodySize)-byte frame limit")
        }
        let now = clock.nowMillis()
        return try await withCheckedThrowingContinuation { continuation in
            let outcome = state.withLock { s -> Result<Bool, StorageError> in
                if let failure = s.failure { return .failure(failure) }
                if s.closed { return .failure(StorageError(.closed, "the log in \(directory) is closed")) }
                let timestamp = max(now, s.lastTimestamp)
                let result = AppendResult(firstOffset: s.nextOffset, count: records.count, timestampMillis: timestamp)
                s.queue.append(QueuedAppend(records: records, timestamp: timestamp, waiter: Waiter(continuation: continuation, result: result)))
                s.nextOffset += UInt64(records.count)
                s.lastTimestamp = timestamp
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

    /// Runs on the I/O queue until nothing is queued: encode, write, fsync, commit,
    /// acknowledge.
    private func flushLoop() {
        while true {
            let work = state.withLock { s -> (appends: [QueuedAppend], tail: Tail, keyId: String?)? in
                if s.queue.isEmpty {
                    s.flushing = false
                    return nil
                }
                defer { s.queue = [] }
                return (s.queue, s.tail, s.encryptionKeyId)
            }
            guard let work else { return }
            let waiters = work.appends.map(\.waiter)
            var chunks: [Chunk] = []
            var tail = work.tail
            var created: [Segment] = []
            do {
                chunks = try encode(work.appends, tail: &tail, keyId: work.keyId)
                // One small chunk into an existing segment: durable through the journal,
                // with other shards' flushes. A flush that creates a segment fsyncs it and
                // the directory itself, so a later direct fsync into it never depends on a
                // directory entry only the journal's next reset would make durable. Flushes
                // spanning two segments fsync the older one first (below), so only the
                // newest segment of a shard can ever have a torn tail.
                let journal = options.sync == .always && chunks.count == 1 && chunks[0].header == nil
                    && chunks[0].bytes.count <= CommitJournal.maxFlushBytes ? self.journal : nil
                for (k, chunk) in chunks.enumerated() {
                    let segment: Segment
                    if let header = chunk.header {
                        let path = directory + "/" + Segment.fileName(baseOffset: chunk.base)
                        let file = try fs.openFile(path, create: true)
                        try file.truncate(to: 0)
                        segment = Segment(baseOffset: chunk.base, path: path, header: header, file: file, dataKey: chunk.dataKey)
                        created.append(segment)
                        if chunk.base == tail.base { tail.segment = segment }
                    } else {
                        segment = chunk.segment!
                    }
                    try segment.file.write(chunk.bytes, at: chunk.position)
                    if let journal {
                        try journal.commit(.init(file: segment.file, position: chunk.position, bytes: chunk.bytes))
                    } else if options.sync == .always || k < chunks.count - 1 {
                        // A segment is complete on disk before the next one exists, so only
                        // the newest segment of a shard can ever have a torn tail.
                        try segment.file.sync()
                    }
                }
                if !created.isEmpty { try fs.syncDirectory(directory) }
            } catch {
                fail(chunks: chunks, created: created, committedTail: work.tail, waiters: waiters, error: error)
                continue
            }
            state.withLock { s in
                var createdIterator = created.makeIterator()
                for chunk in chunks {
                    if chunk.header != nil {
                        // The segment before takes no more appends: a coarse index will do.
                        if !s.segments.isEmpty { s.segments[s.segments.count - 1].thin(to: options.closedIndexIntervalBytes) }
                        s.segments.append(SegmentInfo(segment: createdIterator.next()!))
                    }
                    let last = s.segments.count - 1
                    for frame in chunk.frames {
                        s.segments[last].add(frame.summary, at: frame.position, frameSize: frame.size, indexInterval: options.indexIntervalBytes)
                        s.committedOffset = frame.summary.endOffset
                    }
                }
                s.tail = tail
                s.lastIsOpen = tail.base != nil
                if options.sync == .periodic { s.unsynced = true }
            }
            for waiter in waiters { waiter.continuation.resume(returning: waiter.result) }
        }
    }

    /// Encodes queued appends into frames, rolling to new segments where the tail is
    /// full, too old, missing, or encrypted differently from what is asked now.
    private func encode(_ appends: [QueuedAppend], tail: inout Tail, keyId: String?) throws -> [Chunk] {
        let now = clock.nowMillis()
        var chunks: [Chunk] = []
        var frame: [(timestamp: Int64, records: [LogRecord])] = []
        var frameBytes = 0
        var scratch: [UInt8] = []

        func emitFrame() throws {
            guard !frame.isEmpty else { return }
            if chunks.last?.base != tail.base {
                chunks.append(Chunk(base: tail.base!, header: nil, dataKey: tail.dataKey, segment: tail.segment, position: tail.position, bytes: []))
            }
            let k = chunks.count - 1
            let before = chunks[k].bytes.count
            let firstOffset = frameFirstOffset
            if let dataKey = tail.dataKey {
                try RecordBatch.appendSealedFrame(
                    to: &chunks[k].bytes, entries: frame, firstOffset: firstOffset, dataKey: dataKey,
                    context: SegmentContext(label: contextLabel, baseOffset: tail.base!), position: tail.position, scratch: &scratch
                )
            } else {
                RecordBatch.appendFrame(to: &chunks[k].bytes, entries: frame, firstOffset: firstOffset)
            }
            let size = Int64(chunks[k].bytes.count - before)
            let count = frame.reduce(0) { $0 + $1.records.count }
            let summary = RecordBatch.Summary(
                kind: tail.dataKey == nil ? RecordBatch.plainKind : RecordBatch.sealedKind, firstOffset: firstOffset,
                count: UInt32(count), firstTimestamp: frame.first!.timestamp, lastTimestamp: frame.last!.timestamp
            )
            chunks[k].frames.append((summary, tail.position, size))
            tail.position += size
            frameFirstOffset += UInt64(count)
            frame = []
            frameBytes = 0
        }

        func roll() throws {
            var dataKey: SymmetricKey?
            var envelope: [UInt8] = []
            if let keyId, let keys {
                let context = SegmentContext(label: contextLabel, baseOffset: frameFirstOffset)
                let (key, wrapped) = try DataKeyEnvelope.create(master: try keys.activeKey(id: keyId), context: context)
                dataKey = key
                envelope = wrapped.encode()
            }
            let header = SegmentHeader(baseOffset: frameFirstOffset, createdAtMillis: now, envelope: envelope)
            chunks.append(Chunk(base: frameFirstOffset, header: header, dataKey: dataKey, segment: nil, position: 0, bytes: header.encode()))
            tail = Tail()
            tail.base = frameFirstOffset
            tail.position = Int64(header.encodedSize)
            tail.headerEnd = tail.position
            tail.createdAt = now
            tail.dataKey = dataKey
            tail.keyId = keyId
        }

        var frameFirstOffset = appends[0].waiter.result.firstOffset
        for append in appends {
            let size = append.records.reduce(0) { $0 + $1.frameOverhead + $1.size }
            let used = tail.position + Int64(frameBytes) > tail.headerEnd
            let projected = tail.position + Int64(Frame.headerSize + RecordBatch.headerSize + RecordBatch.sealOverhead + frameBytes + size)
            let mustRoll = tail.base == nil || tail.keyId != keyId
                || (used && projected > options.segmentMaxBytes)
                || (used && now - tail.createdAt >= options.segmentMaxAgeMillis)
            if mustRoll {
                try emitFrame()
                try roll()
            } else if frameBytes + size > Self.flushFrameTarget {
                try emitFrame()
            }
            if frame.last?.timestamp == append.timestamp {
                frame[frame.count - 1].records += append.records
            } else {
                frame.append((append.timestamp, append.records))
            }
            frameBytes += size
        }
        try emitFrame()
        return chunks
    }

    /// A write or fsync failed: take back everything not committed (truncate the tail to
    /// its committed size, remove segments this flush created) and fail every append that
    /// was waiting, including those queued behind the failed flush.
    private func fail(chunks: [Chunk], created: [Segment], committedTail: Tail, waiters: [Waiter], error: any Error) {
        var cleanup: StorageError?
        for segment in created {
            do { try fs.removeFile(segment.path) } catch { cleanup = error as? StorageError }
        }
        if let first = chunks.first, first.header == nil, let segment = first.segment {
            do { try segment.file.truncate(to: first.position) } catch { cleanup = error as? StorageError }
        }
        let storageError = StorageError.wrapping(error)
        let queued = state.withLock { s -> [Waiter] in
            let queued = s.queue.map(\.waiter)
            s.queue = []
            s.nextOffset = s.committedOffset
            s.tail = committedTail
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
        failureLog.log(logger, .error, "append failed", metadata: ["directory": "\(directory)", "error": "\(storageError.message)"])
        for waiter in waiters + queued { waiter.continuation.resume(throwing: storageError) }
    }
}
