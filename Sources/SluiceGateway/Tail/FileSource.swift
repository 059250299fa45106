import Glibc
import Logging
import Metrics
import ServiceLifecycle
import SluiceEngine
import SluiceStorage
import Synchronization

/// Tails the files a `[[sources.file]]` entry names: finds them by glob (new files too),
/// follows rotation by rename (the old file is read to its end) and by copytruncate (the
/// file shrinks: read it again from the start), cuts records, submits them to the gateway
/// and checkpoints only what the gateway made durable.
///
/// While the gateway blocks (a full spool under `on_full = "block"`) `submit` does not
/// return, so this loop simply stops reading: the lines wait in the files.
public final class FileSource: Service, Sendable {
    let settings: FileSourceSettings
    let gateway: Gateway
    let checkpoints: CheckpointStore
    let logger: Logger
    /// The gateway's clock: poll, rotation and flush timers, checkpoint save times.
    var time: any TimeSource { gateway.time }

    /// A batch starts only after its file's checkpoint was saved within this long.
    static let savedAtSlackMillis: Int64 = 10_000
    /// How much earlier than a checkpoint's save a restart looks (wall-clock corrections).
    static let clockSlackMillis: Int64 = 60_000

    private let recorder: SourceRecorder
    private let tailedFiles = Mutex<[GatewayStatus.TailedFile]>([])
    private let loop = SourceLoop()
    private let lagGauge: Gauge

    /// - Throws: when the checkpoint directory cannot be made. (The config checks the
    ///   multi-line pattern, naming file and key; `run` throws if it still is no regex.)
    public init(settings: FileSourceSettings, gateway: Gateway, checkpointDirectory: String, logger: Logger) throws {
        self.settings = settings
        self.gateway = gateway
        self.logger = logger
        // On the gateway's disk: the checkpoints and the spools fail (and are tested) together.
        checkpoints = try CheckpointStore(directory: checkpointDirectory, source: settings.name, fileSystem: gateway.fileSystem)
        lagGauge = Gauge(label: "CheckpointLagBytes", dimensions: [("source", settings.name), ("stream", settings.stream)])
        recorder = SourceRecorder(name: settings.name, stream: settings.stream, errorStream: settings.parseErrorStream, gateway: gateway, logger: logger)
    }

    public var status: GatewayStatus.Source {
        let counts = recorder.counts
        return GatewayStatus.Source(
            name: settings.name, kind: "file", stream: settings.stream, records: counts.records, parseErrors: counts.parseErrors,
            truncated: counts.truncated, dropped: counts.dropped, keyFallbacks: settings.builder.mapper.fallbackCount, files: tailedFiles.withLock { $0 }
        )
    }

    public func run() async throws {
        try await loop.run({ try await self.tailLoop() }) {
            logger.info("stopped while waiting for spool room; the waiting batch is read again at the next start", metadata: ["source": "\(settings.name)"])
        }
    }

    // MARK: - The loop

    private func tailLoop() async throws {
        let startPattern = try settings.multilineStart.map { try Regex($0) }
        var saved: [TailedFile.Key: FileCheckpoint] = [:]
        let firstRun = !checkpoints.exists
        do {
            for entry in try checkpoints.load() { saved[TailedFile.Key(device: entry.device, inode: entry.inode)] = entry }
        } catch {
            // Say what happens now, not what the operator could have done instead.
            let aside = (try? checkpoints.setAside(now: time.nowMillis())) ?? "(could not be moved)"
            logger.error("file checkpoints unreadable: this source starts over as on its first run", metadata: [
                "source": "\(settings.name)", "error": "\(error)", "kept_as": "\(aside)",
                "consequence": "\(settings.startAtEnd ? "lines written before now are not read (start_at = end)" : "each file is read from its start again: lines stored before are stored again")",
            ])
        }
        let watcher = FileWatcher(directories: FileGlob.directories(of: settings.paths), logger: logger)
        defer { watcher.stop() }
        var files: [TailedFile.Key: TailedFile] = [:]
        var unreadable: [String: MonotonicInstant] = [:]
        var firstScan = true
        var lastScan = time.monotonicNow() - settings.pollInterval
        defer { for file in files.values { close(file.fd) } }
        while !loop.isStopping, !Task.isCancelled {
            if time.monotonicNow() - lastScan >= settings.pollInterval / 4 || firstScan {
                discover(&files, saved: &saved, startAtEnd: firstScan && firstRun && settings.startAtEnd, unreadable: &unreadable, startPattern: startPattern)
                firstScan = false
                lastScan = time.monotonicNow()
            }
            var progressed = false
            for key in files.keys.sorted(by: { files[$0]!.path < files[$1]!.path }) {
                guard !loop.isStopping else { break }
                guard !waitsForPredecessor(files[key]!, among: files) else {
                    // Not read yet, but its lag shows (status, CheckpointLagBytes).
                    files[key]!.size = files[key]!.currentSize() ?? files[key]!.size
                    continue
                }
                var file = files[key]!
                progressed = try await pump(&file, all: &files, saved: saved) || progressed
                if let replaced = file.replaces, file.readOffset >= (file.currentSize() ?? file.readOffset),
                   time.monotonicNow() - max(replaced.since, file.lastGrowth) >= settings.rotateWait {
                    // Read to its end and quiet: the file now at its old path may start.
                    file.replaces = nil
                    files[key] = file
                    try saveCheckpoints(files, saved: saved)
                }
                files[key] = file
                if let file = files[key], isFinished(file) {
                    close(file.fd)
                    files[key] = nil
                    logger.info("finished a rotated file", metadata: ["source": "\(settings.name)", "path": "\(file.path)", "bytes": "\(file.readOffset)"])
                    try saveCheckpoints(files, saved: saved)
                }
            }
            publish(files)
            if !progressed { await watcher.wait(timeout: watcher.isWatching ? settings.pollInterval : settings.pollInterval / 4) }
        }
        try? saveCheckpoints(files, saved: saved)
    }

    /// Whether `file` is the one that now has a rotated file's path, and that file is not
    /// finished yet: its lines go first (they may share partition keys).
    private func waitsForPredecessor(_ file: TailedFile, among files: [TailedFile.Key: TailedFile]) -> Bool {
        files.values.contains { other in
            guard other.key != file.key, let earlier = other.replaces else { return false }
            // The file at the old path; or one rotated from that path after it (rotations
            // faster than rotate_wait_ms), which also comes after it.
            if earlier.path == file.path { return true }
            if let own = file.replaces, own.path == earlier.path, earlier.since < own.since { return true }
            return false
        }
    }

    /// Whether a rotated file is read to `size` and has been quiet for `rotateWait`: no
    /// writer will complete its last line any more.
    private func isDrained(_ file: TailedFile, size: Int64) -> Bool {
        guard let rotatedAt = file.rotatedAt else { return false }
        return file.readOffset >= size && time.monotonicNow() - max(rotatedAt, file.lastGrowth) >= settings.rotateWait
    }

    /// A rotated file is finished once drained and its last record emitted.
    private func isFinished(_ file: TailedFile) -> Bool {
        isDrained(file, size: file.currentSize() ?? file.readOffset) && !file.assembler.hasPartialLine && !file.assembler.hasPendingRecord
    }

    /// Finds files by glob: opens new ones (resuming a matching checkpoint), notices paths
    /// that now lead elsewhere (rotation).
    private func discover(
        _ files: inout [TailedFile.Key: TailedFile], saved: inout [TailedFile.Key: FileCheckpoint], startAtEnd: Bool,
        unreadable: inout [String: MonotonicInstant], startPattern: Regex<AnyRegexOutput>?
    ) {
        let found = FileGlob.match(settings.paths, exclude: settings.exclude)
        let pathsNow = Dictionary(found.map { ($0.path, $0.key) }, uniquingKeysWith: { a, _ in a })
        for (key, file) in files where file.rotatedAt == nil && pathsNow[file.path] != key {
            // The path was renamed away or deleted; keep reading what the descriptor holds.
            // The file that takes the path next waits until this one is finished.
            if file.replaces == nil { files[key]!.replaces = (file.path, time.monotonicNow()) }
            if let newPath = found.first(where: { $0.key == key })?.path {
                files[key]!.path = newPath
            } else {
                files[key]!.rotatedAt = time.monotonicNow()
                logger.debug("file rotated away", metadata: ["source": "\(settings.name)", "path": "\(file.path)"])
            }
        }
        for (path, key, size) in found {
            if files[key] != nil {
                files[key]!.path = path
                files[key]!.rotatedAt = nil
                continue
            }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let error = String(cString: strerror(errno))
                if unreadable[path].map({ time.monotonicNow() - $0 >= .seconds(60) }) ?? true {
                    logger.warning("cannot open a file to tail; retrying every scan", metadata: [
                        "source": "\(settings.name)", "path": "\(path)", "error": "\(error)",
                        "fix": "make it readable by the sluice user (e.g. add sluice to the file's group)",
                    ])
                    unreadable[path] = time.monotonicNow()
                }
                continue
            }
            if unreadable.removeValue(forKey: path) != nil {
                logger.info("file readable again", metadata: ["source": "\(settings.name)", "path": "\(path)"])
            }
            var offset: Int64 = 0
            if let entry = saved[key], entry.offset >= 0, entry.offset <= size,
               Fingerprint(length: entry.fingerprintLength, crc: entry.fingerprint).matches(fd: fd) {
                offset = entry.offset
            } else if startAtEnd {
                offset = size
            } else if saved[key] != nil {
                logger.info("a file reuses a known inode but is not the same file; reading it from the start", metadata: [
                    "source": "\(settings.name)", "path": "\(path)", "inode": "\(key.inode)",
                ])
            }
            // A file renamed before the last run finished it (or while sluiced was down)
            // still goes before the file that has its old path now.
            let resumed = saved[key].flatMap { entry in offset == entry.offset ? entry : nil }
            let previous = resumed.flatMap { entry in entry.replaces ?? (entry.path != path ? entry.path : nil) }
            saved[key] = nil
            files[key] = TailedFile(
                key: key, path: path, fd: fd, readOffset: offset, checkpoint: offset, fingerprint: Fingerprint.of(fd: fd),
                assembler: LineAssembler(maxBytes: settings.maxRecordBytes, marker: settings.truncationMarker, startPattern: startPattern, offset: offset),
                lastGrowth: time.monotonicNow()
            )
            if let previous { files[key]!.replaces = (previous, time.monotonicNow()) }
            if let entry = resumed, let producer = entry.producer, let savedAt = entry.savedAtMillis {
                files[key]!.producer = producer
                files[key]!.checkpointSavedAt = savedAt
                // A batch was in flight at the crash and may be stored already: the gateway
                // skips what is. (Only then: the look-up reads the log since `savedAt`.)
                if entry.inFlight == true {
                    for stream in [settings.stream] + (settings.parseErrorStream.map { [$0] } ?? []) {
                        gateway.expectRepeats(stream: stream, producers: [producer], sinceMillis: savedAt.subtractingSaturating(Self.clockSlackMillis))
                    }
                }
            }
            logger.info("tailing", metadata: ["source": "\(settings.name)", "path": "\(path)", "from": "\(offset)"])
        }
    }

    /// Reads what the file has (a few chunks at most, so files take turns), submits the
    /// records and checkpoints them. Returns whether it read anything.
    private func pump(_ file: inout TailedFile, all: inout [TailedFile.Key: TailedFile], saved: [TailedFile.Key: FileCheckpoint]) async throws -> Bool {
        guard let size = file.currentSize() else { return false }
        file.size = size
        if size < file.readOffset || (file.fingerprint.length > 0 && size >= Int64(file.fingerprint.length) && !file.fingerprint.matches(fd: file.fd)) {
            // copytruncate (or rewritten in place): the file starts over.
            logger.info("file truncated; reading it again from the start", metadata: [
                "source": "\(settings.name)", "path": "\(file.path)", "was_at": "\(file.readOffset)", "size": "\(size)",
            ])
            file.readOffset = 0
            file.checkpoint = 0
            file.assembler.reset(to: 0)
            file.fingerprint = .empty
            // New content: new record origins (the old sequences started over).
            file.producer = UInt64.random(in: 1...UInt64.max)
            file.checkpointSavedAt = 0
        }
        var records: [AssembledRecord] = []
        var bytesInBatch = 0
        var progressed = false
        var chunk = [UInt8](repeating: 0, count: settings.readChunkBytes)
        var chunksLeft = 8
        // One batch is stored while the next is read and built: the reading and parsing
        // of batch N+1 overlap the append and fsync of batch N. Batches still go to the
        // gateway one after the other, and a checkpoint moves only past a stored batch.
        var inFlight: (task: Task<Void, any Error>, cut: Int64)?
        func settle() async throws {
            guard let pending = inFlight else { return }
            inFlight = nil
            try await withTaskCancellationHandler {
                try await pending.task.value
            } onCancel: {
                pending.task.cancel()
            }
            file.checkpoint = pending.cut
            try save(inFlight: file.batchInFlight)
        }
        /// Saves the checkpoints with this file's entry as it stands, stamped now, saying
        /// whether a batch of it is (about to be) in flight.
        func save(inFlight: Bool) throws {
            file.batchInFlight = inFlight
            file.checkpointSavedAt = time.nowMillis()
            all[file.key] = file
            try saveCheckpoints(all, saved: saved)
            file.savedInFlight = inFlight
        }
        /// Before a batch is stored: its checkpoint entry (offset, producer, "a batch is in
        /// flight") must be saved, recently, so that after a crash the gateway knows what to
        /// look for and since when. Within a burst the save after each batch covers it; a
        /// save of its own comes only at a burst's start (or after 10 s).
        func announce() throws {
            let stale = time.nowMillis().subtractingSaturating(file.checkpointSavedAt) > Self.savedAtSlackMillis
            guard !file.savedInFlight || stale else { return }
            try save(inFlight: true)
        }
        while file.readOffset < size, chunksLeft > 0 {
            let want = Int(min(Int64(chunk.count), size - file.readOffset))
            let n = chunk.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, want, off_t(file.readOffset)) }
            guard n > 0 else { break }
            let grown = file.assembler.recordGrowth
            file.assembler.feed(chunk[..<n], at: file.readOffset) { record in
                records.append(record)
                bytesInBatch += record.bytes.count
            }
            file.readOffset += Int64(n)
            file.lastGrowth = time.monotonicNow()
            if file.assembler.recordGrowth != grown { file.recordGrewAt = file.lastGrowth }
            if file.fingerprint.length < Fingerprint.maxLength { file.fingerprint = Fingerprint.of(fd: file.fd) }
            progressed = true
            chunksLeft -= 1
            if records.count >= settings.batchRecords || bytesInBatch >= settings.batchBytes {
                let batch = prepare(records, path: file.path, producer: file.producer)
                let cut = file.assembler.resumeOffset
                records = []
                bytesInBatch = 0
                try await settle()
                try announce()
                all[file.key] = file
                publish(all)
                let path = file.path
                inFlight = (Task { [batch] in try await self.store(batch, path: path) }, cut)
            }
        }
        if file.assembler.hasPendingRecord, let grew = file.recordGrewAt, time.monotonicNow() - grew >= settings.multilineFlush, file.readOffset >= size {
            file.assembler.flushRecord { records.append($0) }
        }
        if isDrained(file, size: size) {
            file.assembler.finish(endOffset: file.readOffset) { records.append($0) }
        }
        let batch = prepare(records, path: file.path, producer: file.producer)
        try await settle()
        let cut = file.assembler.resumeOffset
        if !records.isEmpty || cut != file.checkpoint {
            try announce()
            all[file.key] = file
            publish(all)
            try await store(batch, path: file.path)
            file.checkpoint = cut
            try save(inFlight: false)
        } else if file.batchInFlight {
            // A burst's end: no batch follows, so a restart need not look for one.
            try save(inFlight: false)
        }
        return progressed
    }

    private func prepare(_ assembled: [AssembledRecord], path: String, producer: UInt64) -> SourceBatch {
        var batch = SourceBatch()
        let fixedKey = settings.builder.fixedKey(filePath: path)
        for record in assembled {
            var built = settings.builder.build(record.bytes, filePath: path, key: fixedKey)
            built.truncated = built.truncated || record.truncated
            if settings.recordOrigins { built.record.origin = RecordOrigin(producer: producer, sequence: UInt64(max(0, record.endOffset))) }
            batch.add(built, hasErrorStream: settings.parseErrorStream != nil)
        }
        return batch
    }

    private func store(_ batch: SourceBatch, path: String) async throws {
        try await recorder.store(batch, context: ["path": "\(path)"])
    }

    private func saveCheckpoints(_ files: [TailedFile.Key: TailedFile], saved: [TailedFile.Key: FileCheckpoint]) throws {
        try checkpoints.save(files.values.map(\.checkpointRecord) + saved.values)
    }

    private func publish(_ files: [TailedFile.Key: TailedFile]) {
        let tailed = files.values.sorted { $0.path < $1.path }.map {
            GatewayStatus.TailedFile(path: $0.path, checkpoint: $0.checkpoint, size: $0.size)
        }
        lagGauge.record(tailed.reduce(0) { $0 + $1.lagBytes })
        tailedFiles.withLock { $0 = tailed }
    }
}
