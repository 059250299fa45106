import Logging
import SluiceStorage

/// The embedded stream engine: streams of shards with Kinesis Data Streams semantics, on
/// top of one `ShardLog` per shard.
///
/// A thin façade over parts that each own their state: `catalog` (streams, metadata, tags,
/// retention, encryption), `writer` (validation, routing, write limits, size bounds),
/// `reader` (iterators, GetRecords, durable consumers), `resharder`, `fanOut` (enhanced
/// fan-out consumers and subscriptions) and `autoscaler` (ON_DEMAND). The façade opens
/// them over one data directory and answers for the whole: close, sync, health, totals.
///
/// Thread-safe; every method of every part may be called from any task.
public final class StreamEngine: Sendable {
    public let catalog: StreamCatalog
    public let writer: StreamWriter
    public let reader: StreamReader
    public let resharder: Resharder
    public let fanOut: FanOut
    public let autoscaler: OnDemandAutoscaler
    let context: EngineContext
    /// Held while the engine is open: one sluiced per data directory.
    let lock: DataDirectoryLock

    public var dataDirectory: String { context.dataDirectory }
    public var options: EngineOptions { context.options }

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
        try fileSystem.createDirectories(dataDirectory + "/streams")
        lock = try DataDirectoryLock(dataDirectory: dataDirectory)
        // Before any shard recovers: the journal puts back what a power loss took from
        // the segment files.
        let journal = options.commitJournal
            ? try CommitJournal(dataDirectory: dataDirectory, fileSystem: fileSystem, logger: logger) : nil
        context = EngineContext(
            dataDirectory: dataDirectory, options: options, fs: fileSystem, clock: clock, logger: logger, journal: journal
        )
        let factory = ShardFactory(context: context)
        catalog = try StreamCatalog(context: context, factory: factory)
        writer = StreamWriter(context: context, catalog: catalog, factory: factory)
        reader = try StreamReader(context: context, catalog: catalog)
        resharder = Resharder(context: context, catalog: catalog, factory: factory)
        fanOut = FanOut(context: context, catalog: catalog, reader: reader)
        autoscaler = OnDemandAutoscaler(context: context, catalog: catalog, factory: factory, resharder: resharder)
    }

    /// Capacity modes: PROVISIONED (a shard count chosen by the caller) or ON_DEMAND.
    public enum CapacityMode: String, Sendable {
        case provisioned = "PROVISIONED"
        case onDemand = "ON_DEMAND"
    }

    /// Per-shard write limits (changed by a config reload: `writer.updateWriteLimits`).
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

    /// Flushes and closes every shard log, then fsyncs what went through the journal.
    public func close() async {
        for (_, shard) in catalog.everyShard {
            do { try await shard.log.close() } catch {
                context.logger.error("closing a shard log failed", metadata: ["shard": "\(shard.log.directory)", "error": "\(error)"])
            }
        }
        do { try context.journal?.checkpoint() } catch {
            context.logger.error("emptying the commit journal failed; the next start replays it", metadata: ["error": "\(error)"])
        }
    }

    /// Syncs every shard log (for the periodic sync policy).
    public func syncAll() async {
        for (_, shard) in catalog.everyShard {
            do { try await shard.log.sync() } catch {
                context.logger.error("periodic fsync failed", metadata: ["shard": "\(shard.log.directory)", "error": "\(error)"])
            }
        }
    }

    /// What is wrong with the engine right now, for the watchdog and STATUS: shards whose
    /// log refuses writes, and shards whose I/O queue does not answer within `timeout`
    /// (a disk that hangs). Empty when healthy.
    public func healthProblems(timeout: Duration = .seconds(5)) async -> [String] {
        var problems: [String] = []
        if let failure = context.journal?.failure { problems.append("commit journal: \(failure.message)") }
        for (stream, shard) in catalog.everyShard {
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
        totals.streams = catalog.streamNames().count
        for (_, shard) in catalog.everyShard {
            let stats = shard.log.stats
            totals.shards += 1
            totals.records += stats.records
            totals.bytes += stats.bytes
        }
        return totals
    }
}
