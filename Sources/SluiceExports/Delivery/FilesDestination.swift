import Foundation
import Logging
import Metrics
import SluiceEngine
import SluiceStorage
import Synchronization

/// `[[exports]] kind = "files"`: objects of records in a local directory (a USB disk, a NAS
/// mount, a sync agent's folder), gathered as Firehose gathers them (OBJECTS.md beside
/// this file): closed at `bufferBytes` or `bufferSeconds`, framed, compressed, written
/// under a temporary name, fsynced and renamed into place. A batch's receipt completes
/// once the object holding it is in place; only then does the export commit it.
public final class FilesDestination: ExportDestination {
    public struct Settings: Sendable {
        public var directory: String
        public var prefix: ObjectPrefix
        public var bufferBytes = 5 << 20
        public var bufferSeconds = 300
        public var framing = RecordFraming()
        public var compression = Compression.none
        /// Between attempts to write an object (a full or missing disk).
        public var backoff = Backoff(base: .seconds(1), cap: .seconds(120))

        public init(directory: String, prefix: ObjectPrefix) {
            self.directory = directory
            self.prefix = prefix
        }
    }

    public let settings: Settings
    let stream: String
    let export: String
    let fs: any FileSystem
    let clock: any TimeSource
    let logger: Logger
    private let buffer = Mutex(Buffer())
    private let counts = Mutex(Counts())
    private let timers = Mutex<[UInt64: Task<Void, Never>]>([:])
    private let failureLog = LogRateLimit()
    private let recordsWritten: Counter
    private let bytesWritten: Counter
    private let objectsWritten: Counter
    private let freshness: Gauge

    /// The open object: what it holds and whose batches wait for it.
    private struct Buffer {
        var bytes: [UInt8] = []
        var records = 0
        var firstArrival: Int64 = 0
        var receipts: [DeliveryReceipt] = []
        /// Names the open object, so a timer armed for an object already written does nothing.
        var generation: UInt64 = 0
    }

    struct Counts {
        var objects: UInt64 = 0
        var records: UInt64 = 0
        var bytes: UInt64 = 0
        var failedWrites: UInt64 = 0
        var failure: String?
        var lastObject: String?
    }

    /// - Parameters: stream, export: the names objects are named after.
    public init(settings: Settings, stream: String, export: String, fileSystem: any FileSystem = PosixFileSystem(), clock: any TimeSource = SystemTimeSource(), logger: Logger) throws {
        self.settings = settings
        self.stream = stream
        self.export = export
        self.fs = fileSystem
        self.clock = clock
        self.logger = logger
        let dimensions = [("export", export)]
        recordsWritten = Counter(label: "DeliveryToFiles.Records", dimensions: dimensions)
        bytesWritten = Counter(label: "DeliveryToFiles.Bytes", dimensions: dimensions)
        objectsWritten = Counter(label: "DeliveryToFiles.Success", dimensions: dimensions)
        freshness = Gauge(label: "DeliveryToFiles.DataFreshness", dimensions: dimensions)
        try removeLeftovers()
    }

    public var description: String { "files in \(settings.directory)" }
    /// Many batches per shard go into one object; memory stays bounded by the buffer,
    /// which closes at `bufferBytes`.
    public var batchesInFlight: Int { 4096 }

    public var statistics: [String: UInt64] {
        let c = counts.withLock { $0 }
        return ["objects": c.objects, "recordsWritten": c.records, "bytesWritten": c.bytes, "failedWrites": c.failedWrites]
    }

    public var failure: String? { counts.withLock { $0.failure } }

    /// Records in the open object.
    public var bufferedRecords: Int { buffer.withLock { $0.records } }

    /// The last object written, relative to the directory (for `sluice status`).
    public var lastObject: String? { counts.withLock { $0.lastObject } }

    public func shutdown() async {
        for timer in timers.withLock({ t in defer { t = [:] }; return Array(t.values) }) { timer.cancel() }
    }

    /// `.<stream>-<export>-…tmp` files a crash left in the tree.
    private var leftoverPrefix: String { ".\(PathComponent.encode(stream))-\(PathComponent.encode(export))-" }

    private func removeLeftovers() throws {
        guard fs.isDirectory(settings.directory) else { return }
        var directories = [settings.directory]
        while let directory = directories.popLast() {
            for entry in try fs.listDirectory(directory) {
                let path = directory + "/" + entry
                if fs.isDirectory(path) {
                    directories.append(path)
                } else if entry.hasPrefix(leftoverPrefix), entry.hasSuffix(".tmp") {
                    try fs.removeFile(path)
                    logger.notice("removed an object a crash left unfinished (its records are exported again)", metadata: ["export": "\(export)", "file": "\(path)"])
                }
            }
        }
    }

    public func submit(_ batch: ConsumerBatch, stream _: String) async throws -> DeliveryReceipt {
        let receipt = DeliveryReceipt()
        let (full, armed) = buffer.withLock { b -> (Buffer?, UInt64?) in
            var armed: UInt64?
            if b.records == 0 {
                b.generation += 1
                b.firstArrival = batch.records.first?.timestampMillis ?? clock.nowMillis()
                armed = b.generation
            }
            for record in batch.records { settings.framing.append(record, shardIndex: batch.shardIndex, to: &b.bytes) }
            b.records += batch.records.count
            b.receipts.append(receipt)
            guard b.bytes.count >= settings.bufferBytes || settings.bufferSeconds == 0 else { return (nil, armed) }
            return (Self.take(&b), nil)
        }
        if let full {
            await write(full)
        } else if let generation = armed {
            let timer = Task { [weak self, seconds = settings.bufferSeconds] in
                do { try await Task.sleep(for: .seconds(seconds)) } catch { return }
                await self?.flush(generation: generation)
            }
            timers.withLock { $0[generation] = timer }
        }
        return receipt
    }

    private static func take(_ b: inout Buffer) -> Buffer {
        let taken = b
        b.bytes = []
        b.records = 0
        b.receipts = []
        return taken
    }

    /// At stop: the open object is written now.
    public func flush() async {
        let open = buffer.withLock { b -> Buffer? in b.records > 0 ? Self.take(&b) : nil }
        if let open { await write(open) }
    }

    /// The timer's end: writes the object it was armed for, if still open.
    private func flush(generation: UInt64) async {
        _ = timers.withLock { $0.removeValue(forKey: generation) }
        let due = buffer.withLock { b -> Buffer? in
            guard b.generation == generation, b.records > 0 else { return nil }
            return Self.take(&b)
        }
        if let due { await write(due) }
    }

    /// Writes one object, retrying until it is in place (or the task is cancelled), then
    /// completes its batches' receipts.
    private func write(_ object: Buffer) async {
        _ = timers.withLock { $0.removeValue(forKey: object.generation) }?.cancel()
        var random = SystemRandomNumberGenerator()
        let time = UTCTime(millis: object.firstArrival)
        let stamp = "\(time.padded(time.year, 4))-\(time.padded(time.month, 2))-\(time.padded(time.day, 2))-\(time.padded(time.hour, 2))-\(time.padded(time.minute, 2))-\(time.padded(time.second, 2))"
        let name = settings.prefix.render(arrivalMillis: object.firstArrival, using: &random)
            + "\(PathComponent.encode(stream))-\(PathComponent.encode(export))-\(stamp)-\(UUID().uuidString.lowercased())\(settings.compression.fileExtension)"
        var attempt = 0
        while true {
            do {
                let content = try settings.compression.compress(object.bytes)
                try place(content, at: settings.directory + "/" + name)
                break
            } catch {
                counts.withLock {
                    $0.failedWrites += 1
                    $0.failure = "\(error)"
                }
                failureLog.log(logger, .error, "writing an object failed; its records stay in the local stream and it is written again", metadata: [
                    "export": "\(export)", "object": "\(name)", "error": "\(error)",
                ])
                do { try await settings.backoff.sleep(attempt: attempt) } catch {
                    for receipt in object.receipts { receipt.complete(.failure(CancellationError())) }
                    return
                }
                attempt += 1
            }
        }
        counts.withLock {
            $0.objects += 1
            $0.records += UInt64(object.records)
            $0.bytes += UInt64(object.bytes.count)
            $0.failure = nil
            $0.lastObject = name
        }
        objectsWritten.increment()
        recordsWritten.increment(by: object.records)
        bytesWritten.increment(by: object.bytes.count)
        freshness.record(max(0, clock.nowMillis() - object.firstArrival))
        for receipt in object.receipts { receipt.complete(.success(())) }
    }

    /// Temporary dot file in the final directory, fsync, rename, directory fsync. The
    /// configured directory itself is never created: a disk that is not mounted must not
    /// fill the mount point on the root file system.
    private func place(_ content: [UInt8], at path: String) throws {
        guard fs.isDirectory(settings.directory) else {
            throw EngineError(.resourceNotFound, "directory \(settings.directory) does not exist (a disk not mounted?); create it or mount the disk: the records wait in the local stream")
        }
        let directory = FileSystemPath.parent(path)
        try makeDirectories(directory)
        let temporary = directory + "/" + leftoverPrefix + UUID().uuidString.lowercased() + ".tmp"
        let file = try fs.openFile(temporary, create: true)
        try file.truncate(to: 0)
        try file.write(content, at: 0)
        try file.sync()
        try fs.rename(temporary, to: path)
        try fs.syncDirectory(directory)
    }

    /// Creates missing directories down to `path`, each fsynced into its parent.
    private func makeDirectories(_ path: String) throws {
        guard !fs.isDirectory(path) else { return }
        let parent = FileSystemPath.parent(path)
        if parent != path { try makeDirectories(parent) }
        try fs.createDirectory(path)
        try fs.syncDirectory(parent)
    }
}
