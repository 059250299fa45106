import Crypto
import Foundation
import Logging
import SluiceStorage
import Synchronization

/// The embedded stream engine: streams of shards with Kinesis Data Streams semantics, on
/// top of one `ShardLog` per shard.
///
/// Thread-safe; every method may be called from any task. Extensions group the API by
/// concern: `+Streams` (create, delete, describe, tags, retention), `+Put`, `+Read`.
public final class StreamEngine: Sendable {
    public let dataDirectory: String
    public let options: EngineOptions
    let fs: any FileSystem
    let clock: any TimeSource
    let logger: Logger
    /// Failed appends repeat as fast as clients retry: one line per 10 s at most.
    let failureLog = LogRateLimit()
    /// Held while the engine is open: one sluiced per data directory.
    let lock: DataDirectoryLock
    /// Shared by every shard's log: one fdatasync for small flushes across shards (nil
    /// when `options.commitJournal` is off).
    let journal: CommitJournal?
    let iteratorKey: SymmetricKey
    let streams: Mutex<[String: StreamHandle]>
    /// The per-shard write limits in force (changed by a config reload).
    let writeLimits: Mutex<WriteLimits>
    /// `stream|consumer|shard` of every open enhanced fan-out subscription.
    let activeSubscriptions = Mutex<Set<String>>([])
    /// Stream directories left out at start (directory name → why), kept untouched.
    let quarantinedStreams = Mutex<[String: String]>([:])
    /// Size bounds and their counters, by stream name (`+StorageBound`).
    let storageByStream = Mutex<[String: StreamStorage]>([:])

    public struct WriteLimits: Sendable, Equatable {
        public var enabled: Bool
        public var bytesPerSecond: Int
        public var recordsPerSecond: Int

        public init(enabled: Bool, bytesPerSecond: Int, recordsPerSecond: Int) {
            self.enabled = enabled
            self.bytesPerSecond = bytesPerSecond
            self.recordsPerSecond = recordsPerSecond
        }
    }

    var streamsDirectory: String { dataDirectory + "/streams" }
    var trashDirectory: String { dataDirectory + "/trash" }

    /// Opens the data directory, recovering every stream found in it.
    /// - Throws: `EngineError` or `StorageError` when the directory cannot be used; a
    ///   corrupt segment does not throw (it is quarantined and reported).
    public init(
        dataDirectory: String,
        options: EngineOptions = EngineOptions(),
        clock: any TimeSource = SystemTimeSource(),
        fileSystem: any FileSystem = PosixFileSystem(),
        logger: Logger = Logger(label: "sluice.engine")
    ) throws {
        self.dataDirectory = dataDirectory
        self.options = options
        self.clock = clock
        self.fs = fileSystem
        self.logger = logger
        try fileSystem.createDirectories(dataDirectory + "/streams")
        lock = try DataDirectoryLock(dataDirectory: dataDirectory)
        // Before any shard recovers: the journal puts back what a power loss took from
        // the segment files.
        journal = options.commitJournal
            ? try CommitJournal(dataDirectory: dataDirectory, fileSystem: fileSystem, logger: logger) : nil
        iteratorKey = try Self.loadIteratorKey(dataDirectory + "/engine.key", fs: fileSystem)
        streams = Mutex([:])
        writeLimits = Mutex(WriteLimits(
            enabled: options.enforceWriteLimits, bytesPerSecond: options.shardWriteBytesPerSecond,
            recordsPerSecond: options.shardWriteRecordsPerSecond
        ))
        try removeTrash()
        for entry in try fileSystem.listDirectory(streamsDirectory).sorted() {
            let directory = streamsDirectory + "/" + entry
            guard fileSystem.isDirectory(directory) else { continue }
            if let handle = try openStreamOrQuarantine(directory: directory, entry: entry) {
                streams.withLock { $0[handle.name] = handle }
            }
        }
    }

    /// Opens one stream directory found at start. A stream whose metadata is missing,
    /// unreadable or names another stream is quarantined (kept on disk untouched, reported,
    /// its name refused to CreateStream) so that the other streams still start; record
    /// data is never deleted. Only a directory that holds no record at all and no
    /// metadata (a CreateStream that crashed half-way) is removed.
    /// - Returns: nil when the stream was quarantined or removed.
    /// - Throws: what must stop the start (a missing master key, an I/O failure).
    private func openStreamOrQuarantine(directory: String, entry: String) throws -> StreamHandle? {
        switch try StreamDirectoryCheck.check(directory: directory, entry: entry, fs: fs) {
        case .unfinished:
            logger.warning("removing an unfinished stream directory (no metadata, no record)", metadata: ["directory": "\(directory)"])
            try fs.removeTree(directory)
            return nil
        case .quarantine(let reason):
            quarantine(entry, directory: directory, reason: reason)
            return nil
        case .open(let metadata):
            let handle = try openStream(metadata, directory: directory)
            try finishClosingShardsSync(handle)
            return handle
        }
    }

    private func quarantine(_ entry: String, directory: String, reason: String) {
        logger.error("stream quarantined: its records are kept but not served", metadata: [
            "directory": "\(directory)", "reason": "\(reason)",
            "fix": "run `sluice repair \(dataDirectory)` to rebuild its metadata, or restore stream.json from a backup, then restart",
        ])
        quarantinedStreams.withLock { $0[entry] = reason }
    }

    /// The key that signs shard iterators; kept on disk so iterators survive a restart.
    private static func loadIteratorKey(_ path: String, fs: any FileSystem) throws -> SymmetricKey {
        if fs.fileExists(path) {
            if let problem = IteratorKeyFile.problem(path, fs: fs) { throw EngineError(.internalFailure, problem) }
            return SymmetricKey(data: try fs.readWholeFile(path))
        }
        let key = SymmetricKey(size: .bits256)
        try fs.writeAtomically(path, key.withUnsafeBytes { Array($0) }, mode: 0o600)
        return key
    }

    private func removeTrash() throws {
        for name in try fs.listDirectory(trashDirectory) { try fs.removeTree(trashDirectory + "/" + name) }
    }

    /// Opens (recovers) the log of every shard `metadata` lists.
    func openStream(_ metadata: StreamMetadata, directory: String) throws -> StreamHandle {
        var shards: [Int: ShardHandle] = [:]
        for shard in metadata.shards {
            shards[shard.index] = try openShard(shard, of: metadata, streamDirectory: directory)
        }
        return StreamHandle(directory: directory, metadata: metadata, shards: shards)
    }

    func openShard(_ shard: ShardMetadata, of stream: StreamMetadata, streamDirectory: String) throws -> ShardHandle {
        let log = try ShardLog(
            directory: streamDirectory + "/" + shard.id, options: options.log,
            fileSystem: fs, clock: clock, keys: options.keys, journal: journal, logger: logger
        )
        try ShardBirthRecord.writeIfMissing(shard, shardDirectory: log.directory, fs: fs)
        do {
            try log.setEncryption(keyId: stream.encryptionType == "KMS" ? stream.keyId : nil)
        } catch let error as StorageError {
            throw EngineError(.kmsNotFound, "stream \(stream.name) is encrypted under key \(stream.keyId ?? "?"): \(error.message)")
        }
        let limits = writeLimits.withLock { $0 }
        let limiter = ShardWriteLimiter(
            bytesPerSecond: limits.bytesPerSecond, recordsPerSecond: limits.recordsPerSecond,
            enabled: limits.enabled, clock: clock
        )
        let readLimiter = ShardReadLimiter(
            callsPerSecond: options.shardReadCallsPerSecond, bytesPerSecond: options.shardReadBytesPerSecond,
            enabled: options.enforceReadLimits, clock: clock
        )
        return ShardHandle(index: shard.index, hashKeyRange: shard.hashKeyRange, log: log, limiter: limiter, readLimiter: readLimiter, stream: stream.name, now: clock.monotonicNanos())
    }

    /// At start: a reshard that crashed after writing the new map has parents marked
    /// closed without an end offset; recovery has just made their logs consistent, so their
    /// end is the end of the log. (Their logs stay open for reads; appends never reach them
    /// because the map no longer routes to them.)
    func finishClosingShardsSync(_ handle: StreamHandle) throws {
        try handle.state.withLock { s in
            var changed = false
            for k in s.metadata.shards.indices where !s.metadata.shards[k].isOpen && s.metadata.shards[k].endOffset == nil {
                s.metadata.shards[k].endOffset = s.shards[s.metadata.shards[k].index]?.log.endOffset ?? 0
                changed = true
            }
            if s.metadata.status == "UPDATING" {
                s.metadata.status = "ACTIVE"
                changed = true
            }
            if changed { try writeMetadata(s.metadata, directory: handle.directory) }
        }
    }

    func writeMetadata(_ metadata: StreamMetadata, directory: String) throws {
        try Self.writeMetadata(metadata, directory: directory, fs: fs)
    }

    /// Replaces `directory/stream.json` atomically (temp file, fsync, rename, fsync).
    static func writeMetadata(_ metadata: StreamMetadata, directory: String, fs: any FileSystem) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try fs.writeAtomically(directory + "/stream.json", Array(try encoder.encode(metadata)))
    }

    /// The stream named `name`, or ResourceNotFoundException in Kinesis' words.
    func stream(_ name: String) throws -> StreamHandle {
        guard let handle = streams.withLock({ $0[name] }) else {
            throw EngineError(.resourceNotFound, "Stream \(name) under account \(options.accountId) not found.")
        }
        return handle
    }

    public func arn(of name: String) -> String {
        "arn:aws:kinesis:\(options.region):\(options.accountId):stream/\(name)"
    }

    /// The stream a request means: by StreamName or StreamARN (both must agree if given).
    public func resolveStreamName(name: String?, arn: String?) throws -> String {
        if let arn {
            let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
            guard parts.count == 6, parts[0] == "arn", parts[2] == "kinesis", parts[5].hasPrefix("stream/") else {
                throw EngineError(.invalidArgument, "StreamARN \(arn) is not a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME).")
            }
            let fromARN = String(parts[5].dropFirst("stream/".count))
            if let name, name != fromARN {
                throw EngineError(.invalidArgument, "StreamName \(name) and StreamARN \(arn) name different streams.")
            }
            return fromARN
        }
        guard let name else {
            throw EngineError(.invalidArgument, "Either StreamName or StreamARN must be provided.")
        }
        return name
    }

    /// Every shard of every stream, with its stream.
    var everyShard: [(stream: StreamHandle, shard: ShardHandle)] {
        streams.withLock { Array($0.values) }.flatMap { stream in stream.allShards.map { (stream, $0) } }
    }

    /// Flushes and closes every shard log, then fsyncs what went through the journal.
    public func close() async {
        for (_, shard) in everyShard {
            do { try await shard.log.close() } catch {
                logger.error("closing a shard log failed", metadata: ["shard": "\(shard.log.directory)", "error": "\(error)"])
            }
        }
        do { try journal?.checkpoint() } catch {
            logger.error("emptying the commit journal failed; the next start replays it", metadata: ["error": "\(error)"])
        }
    }

    /// Syncs every shard log (for the periodic sync policy).
    public func syncAll() async {
        for (_, shard) in everyShard {
            do { try await shard.log.sync() } catch {
                logger.error("periodic fsync failed", metadata: ["shard": "\(shard.log.directory)", "error": "\(error)"])
            }
        }
    }
}

extension StreamEngine {
    /// Applies new per-shard write limits to every shard, now and for shards created later.
    public func updateWriteLimits(_ limits: WriteLimits) {
        writeLimits.withLock { $0 = limits }
        for (_, shard) in everyShard {
            shard.limiter.update(bytesPerSecond: limits.bytesPerSecond, recordsPerSecond: limits.recordsPerSecond, enabled: limits.enabled)
        }
    }

    /// What is wrong with the engine right now, for the watchdog and STATUS: shards whose
    /// log refuses writes, and shards whose I/O queue does not answer within `timeout`
    /// (a disk that hangs). Empty when healthy.
    public func healthProblems(timeout: Duration = .seconds(5)) async -> [String] {
        var problems: [String] = []
        if let failure = journal?.failure { problems.append("commit journal: \(failure.message)") }
        for (stream, shard) in everyShard {
            if let failure = shard.log.failure {
                problems.append("\(stream.name)/\(shard.id): \(failure.message)")
            } else if await !shard.log.isResponsive(within: timeout) {
                problems.append("\(stream.name)/\(shard.id): storage I/O has not answered for \(timeout)")
            }
        }
        return problems
    }

    /// Totals for STATUS= and `sluice status`.
    public struct Totals: Sendable {
        public var streams = 0
        public var shards = 0
        public var records: UInt64 = 0
        public var bytes: Int64 = 0
    }

    public var totals: Totals {
        var totals = Totals()
        totals.streams = streams.withLock { $0.count }
        for (_, shard) in everyShard {
            let stats = shard.log.stats
            totals.shards += 1
            totals.records += stats.records
            totals.bytes += stats.bytes
        }
        return totals
    }
}
