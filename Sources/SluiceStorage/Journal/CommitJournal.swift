import Dispatch
import Logging
import Synchronization

/// The commit journal (FORMAT.md, "Commit journal"): one `fdatasync` makes the small
/// flushes of every shard durable at once.
///
/// Why it exists: each shard log group-commits its own appends, but writers spread over
/// N shards still cost N fsyncs per round, and small synced writes are what a disk does
/// slowest. A shard log writes a small flush to its segment file without fsyncing it and
/// hands the same bytes to `commit`; whichever caller arrives first leads a round: it
/// appends one entry for everything queued, fdatasyncs the journal once and releases
/// every caller in the round. No thread of its own: a follower waits on a semaphore and
/// becomes the next leader when work arrived during a round, so the journal can never
/// wait for a thread pool that its own callers occupy.
public final class CommitJournal: Sendable {
    /// The journal's size on disk: created full of zeros so that appending to it is an
    /// overwrite and its fdatasync never commits file-system metadata.
    public static let defaultFileBytes: Int64 = 16 << 20
    /// The largest flush a shard log sends here; larger ones are bandwidth, not latency,
    /// and fsync their own file instead of being written twice.
    public static let maxFlushBytes = 64 << 10

    public let dataDirectory: String
    let path: String
    let fs: any FileSystem
    let file: any RandomAccessFile
    let fileBytes: Int64
    let logger: Logger
    /// Callers waiting for a round, and who leads.
    let queue: Mutex<Queue>
    /// Where the next entry goes and what the journal holds; touched only by the leader.
    let cursor: Mutex<Cursor>
    /// What the replay at open found.
    public let replayReport: ReplayReport

    public struct ReplayReport: Sendable, Equatable {
        /// Entries applied (each is one round's flushes).
        public var entries = 0
        /// Writes applied to segment files.
        public var writes = 0
        /// Writes whose file no longer exists (its stream was deleted): skipped.
        public var skipped = 0
        /// Writes sluiced could not have made (a path outside the layout, a position past
        /// the segment's end), each described; skipped and reported, never applied.
        public var rejected: [String] = []
    }

    /// One shard flush: `bytes` already written to `file` at `position`, not yet fsynced.
    public struct Flush: @unchecked Sendable {
        public let file: any RandomAccessFile
        public let position: Int64
        public let bytes: [UInt8]

        public init(file: any RandomAccessFile, position: Int64, bytes: [UInt8]) {
            self.file = file
            self.position = position
            self.bytes = bytes
        }
    }

    final class Ticket: @unchecked Sendable {
        let semaphore = DispatchSemaphore(value: 0)
        /// Set before `semaphore` is signalled (or by the leader for itself).
        var outcome: Outcome = .done
    }

    enum Outcome {
        case done
        case lead
        case failed(StorageError)

        var isLead: Bool { if case .lead = self { true } else { false } }
    }

    struct Request {
        let flushes: [Flush]
        let reset: Bool
        let ticket: Ticket
    }

    struct Queue {
        var requests: [Request] = []
        var leading = false
        var failure: StorageError?
    }

    struct Cursor: @unchecked Sendable {
        var generation: UInt64
        var position: Int64
        /// Files written since the last reset, by path: the reset fsyncs them.
        var touched: [String: any RandomAccessFile] = [:]
    }

    /// Opens `DATA_DIR/journal/commit.journal`, replays what it holds into the segment
    /// files (before any shard log recovers), and resets it.
    public init(
        dataDirectory: String,
        fileSystem: any FileSystem = PosixFileSystem(),
        fileBytes: Int64 = CommitJournal.defaultFileBytes,
        logger: Logger = Logger(label: "sluice.storage")
    ) throws {
        precondition(fileBytes >= Int64(JournalFormat.headerSize) + 4 * Int64(Self.maxFlushBytes), "journal too small")
        self.dataDirectory = dataDirectory
        self.fs = fileSystem
        self.fileBytes = fileBytes
        self.logger = logger
        let directory = dataDirectory + "/journal"
        path = Self.path(in: dataDirectory)
        try fileSystem.createDirectories(directory)
        var generation: UInt64 = 0
        var report = ReplayReport()
        if let found = try Self.read(path, fs: fileSystem) {
            generation = found.generation
            report = try JournalReplay(dataDirectory: dataDirectory, fs: fileSystem).apply(found.entries)
        }
        let file = try fileSystem.openFile(path, create: true)
        if try file.size() != fileBytes {
            try Self.fillWithZeros(file, bytes: fileBytes)
            try fileSystem.syncDirectory(directory)
        }
        self.file = file
        generation += 1
        try file.write(JournalFormat.encodeHeader(generation: generation), at: 0)
        try file.syncData()
        queue = Mutex(Queue())
        cursor = Mutex(Cursor(generation: generation, position: Int64(JournalFormat.headerSize)))
        replayReport = report
        if report.entries > 0 {
            logger.notice("commit journal replayed", metadata: [
                "entries": "\(report.entries)", "writes": "\(report.writes)", "skipped": "\(report.skipped)",
            ])
        }
        for rejection in report.rejected.prefix(20) {
            logger.error("commit journal write rejected, not applied", metadata: ["journal": "\(path)", "write": "\(rejection)"])
        }
        if report.rejected.count > 20 {
            logger.error("commit journal: more writes rejected", metadata: ["journal": "\(path)", "count": "\(report.rejected.count - 20)"])
        }
    }

    /// How many entries the journal under `dataDirectory` holds, read without changing
    /// anything (`sluice verify`): writes a stopped sluiced applies at its next start.
    public static func pendingEntries(dataDirectory: String, fileSystem: any FileSystem = PosixFileSystem()) throws -> Int {
        try read(path(in: dataDirectory), fs: fileSystem)?.entries.count ?? 0
    }

    /// What the next start's replay would do, checked without writing (`sluice verify`
    /// reports its rejections in the words the start logs them).
    public static func inspect(dataDirectory: String, fileSystem: any FileSystem = PosixFileSystem()) throws -> ReplayReport {
        guard let found = try read(path(in: dataDirectory), fs: fileSystem) else { return ReplayReport() }
        return try JournalReplay(dataDirectory: dataDirectory, fs: fileSystem).dryRun(found.entries)
    }

    static func path(in dataDirectory: String) -> String { dataDirectory + "/journal/commit.journal" }

    /// The journal's generation and valid entries; nil when there is no journal or its
    /// header is not valid (then nothing in it is replayed).
    private static func read(_ path: String, fs: any FileSystem) throws -> (generation: UInt64, entries: [[JournalFormat.Write]])? {
        guard fs.fileExists(path) else { return nil }
        let bytes = try fs.readWholeFile(path)
        guard let generation = JournalFormat.decodeHeader(bytes) else { return nil }
        return (generation, JournalFormat.decodeEntries(bytes, generation: generation))
    }

    private static func fillWithZeros(_ file: any RandomAccessFile, bytes: Int64) throws {
        try file.truncate(to: 0)
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var at: Int64 = 0
        while at < bytes {
            let count = Int(min(Int64(zeros.count), bytes - at))
            try zeros.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[0..<count]), at: at) }
            at += Int64(count)
        }
        try file.sync()
    }

    /// The error that made the journal refuse commits, if any.
    public var failure: StorageError? { queue.withLock { $0.failure } }

    /// Makes `flush` durable; returns once it is (with the flushes of every other shard
    /// that arrived meanwhile).
    /// - Throws: the write or fdatasync error; after one, every later commit is refused
    ///   with `.unavailable` until sluiced restarts and replays the journal.
    public func commit(_ flush: Flush) throws {
        try submit(Request(flushes: [flush], reset: false, ticket: Ticket()))
    }

    /// Fsyncs every segment file written through the journal and empties it: before a
    /// file is deleted or a name may be reused, and at shutdown.
    public func checkpoint() throws {
        try submit(Request(flushes: [], reset: true, ticket: Ticket()))
    }

    private func submit(_ request: Request) throws {
        let leads = try queue.withLock { q -> Bool in
            if let failure = q.failure { throw failure }
            q.requests.append(request)
            if q.leading { return false }
            q.leading = true
            return true
        }
        if !leads {
            request.ticket.semaphore.wait()
        }
        if leads || request.ticket.outcome.isLead {
            leadRound(as: request.ticket)
        }
        if case .failed(let error) = request.ticket.outcome { throw error }
    }

    /// Writes one entry for everything queued, fdatasyncs, releases the round, and hands
    /// the lead to the first caller that arrived meanwhile.
    private func leadRound(as leader: Ticket) {
        let (round, refused) = queue.withLock { q in
            defer { q.requests = [] }
            return (q.requests, q.failure)
        }
        var outcome = Outcome.done
        if let refused {
            outcome = .failed(refused)
        } else {
            do {
                try cursor.withLock { try write(round, cursor: &$0) }
            } catch {
                let failure = StorageError.wrapping(error)
                logger.error("commit journal failed", metadata: ["path": "\(path)", "error": "\(failure.message)"])
                queue.withLock {
                    $0.failure = StorageError(.unavailable, "\(failure.message); writes are refused until sluiced restarts and replays \(path)")
                }
                outcome = .failed(failure)
            }
        }
        for request in round {
            request.ticket.outcome = outcome
            if request.ticket !== leader { request.ticket.semaphore.signal() }
        }
        let next = queue.withLock { q -> Ticket? in
            guard let first = q.requests.first else {
                q.leading = false
                return nil
            }
            return first.ticket
        }
        if let next {
            next.outcome = .lead
            next.semaphore.signal()
        }
    }

    private func write(_ round: [Request], cursor: inout Cursor) throws {
        var entry: [JournalFormat.Write] = []
        var entryFiles: [Flush] = []
        var entrySize = JournalFormat.entrySize([])
        var wrote = false

        func emit() throws {
            guard !entry.isEmpty else { return }
            if cursor.position + Int64(entrySize) > fileBytes { try reset(&cursor) }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(entrySize)
            JournalFormat.appendEntry(entry, generation: cursor.generation, to: &bytes)
            try file.write(bytes, at: cursor.position)
            cursor.position += Int64(bytes.count)
            for flush in entryFiles {
                cursor.touched[flush.file.path] = flush.file
            }
            entry = []
            entryFiles = []
            entrySize = JournalFormat.entrySize([])
            wrote = true
        }

        for flush in round.flatMap(\.flushes) {
            let write = JournalFormat.Write(path: relativePath(flush.file.path), position: flush.position, bytes: flush.bytes)
            if entrySize + write.encodedSize > Int(fileBytes) / 4 { try emit() }
            entry.append(write)
            entryFiles.append(flush)
            entrySize += write.encodedSize
        }
        try emit()
        if wrote { try file.syncData() }
        if round.contains(where: \.reset) { try reset(&cursor) }
    }

    /// Fsyncs every file written since the last reset, then starts a new generation: the
    /// entries on disk are dead.
    private func reset(_ cursor: inout Cursor) throws {
        for file in cursor.touched.values { try file.syncData() }
        cursor.touched = [:]
        cursor.generation += 1
        try file.write(JournalFormat.encodeHeader(generation: cursor.generation), at: 0)
        try file.syncData()
        cursor.position = Int64(JournalFormat.headerSize)
    }

    private func relativePath(_ path: String) -> String {
        let prefix = dataDirectory + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
