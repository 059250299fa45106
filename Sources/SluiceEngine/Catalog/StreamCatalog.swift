import FoundationEssentials
import Logging
import SluiceStorage
import Synchronization

/// The engine's catalog: which streams exist, their metadata (`stream.json`), tags,
/// retention, encryption and capacity mode, and the streams quarantined at start. Every
/// other part finds a stream through it.
///
/// Extensions: `+Admin` (create, delete), `+Settings` (retention, tags, encryption,
/// mode, monitoring).
public final class StreamCatalog: Sendable {
    let context: EngineContext
    let factory: ShardFactory
    let streams = Mutex<[String: StreamHandle]>([:])
    /// Stream directories left out at start (directory name → why), kept untouched.
    let quarantinedStreams = Mutex<[String: String]>([:])

    var options: EngineOptions { context.options }

    /// Opens every stream found in the data directory (after removing what a crashed
    /// DeleteStream left in the trash).
    init(context: EngineContext, factory: ShardFactory) throws {
        self.context = context
        self.factory = factory
        let fs = context.fs
        for name in try fs.listDirectory(context.trashDirectory) { try fs.removeTree(context.trashDirectory + "/" + name) }
        for entry in try fs.listDirectory(context.streamsDirectory).sorted() {
            let directory = context.streamsDirectory + "/" + entry
            guard fs.isDirectory(directory) else { continue }
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
        switch try StreamDirectoryCheck.check(directory: directory, entry: entry, fs: context.fs) {
        case .unfinished:
            context.logger.warning("removing an unfinished stream directory (no metadata, no record)", metadata: ["directory": "\(directory)"])
            try context.fs.removeTree(directory)
            return nil
        case .quarantine(let reason):
            context.logger.error("stream quarantined: its records are kept but not served", metadata: [
                "directory": "\(directory)", "reason": "\(reason)",
                "fix": "run `sluice repair \(context.dataDirectory)` to rebuild its metadata, or restore stream.json from a backup, then restart",
            ])
            quarantinedStreams.withLock { $0[entry] = reason }
            return nil
        case .open(let metadata):
            let handle = try factory.openStream(metadata, directory: directory)
            try finishClosingShardsAtStart(handle)
            return handle
        }
    }

    /// At start: a reshard that crashed after writing the new map has parents marked
    /// closed without an end offset; recovery has just made their logs consistent, so their
    /// end is the end of the log. (Their logs stay open for reads; appends never reach them
    /// because the map no longer routes to them.)
    private func finishClosingShardsAtStart(_ handle: StreamHandle) throws {
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
        try Self.writeMetadata(metadata, directory: directory, fs: context.fs)
    }

    /// Replaces `directory/stream.json` atomically (temp file, fsync, rename, fsync).
    static func writeMetadata(_ metadata: StreamMetadata, directory: String, fs: any FileSystem) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try fs.writeAtomically(directory + "/stream.json", Array(try encoder.encode(metadata)))
    }

    /// Changes a stream's metadata under its lock and persists it before anyone sees it.
    func updateMetadata(_ name: String, _ change: (inout StreamMetadata) throws -> Void) throws {
        let handle = try stream(name)
        try handle.state.withLock { s in
            var copy = s.metadata
            try change(&copy)
            try writeMetadata(copy, directory: handle.directory)
            s.metadata = copy
        }
    }

    /// The stream named `name`, or ResourceNotFoundException in Kinesis' words.
    func stream(_ name: String) throws -> StreamHandle {
        guard let handle = streams.withLock({ $0[name] }) else { throw context.streamNotFound(name) }
        return handle
    }

    /// Every stream now.
    var allStreams: [StreamHandle] { streams.withLock { Array($0.values) } }

    /// Every shard of every stream, with its stream.
    var everyShard: [(stream: StreamHandle, shard: ShardHandle)] {
        allStreams.flatMap { stream in stream.allShards.map { (stream, $0) } }
    }

    /// Stream names, sorted.
    public func streamNames() -> [String] {
        streams.withLock { Array($0.keys) }.sorted()
    }

    public func metadata(of name: String) throws -> StreamMetadata {
        try stream(name).metadata
    }

    /// The stream's current shard map.
    public func shardMap(stream name: String) throws -> ShardMap { try stream(name).shardMap }

    /// Cheap check for a cached map: changes whenever the stream's shards change.
    public func shardMapVersion(stream name: String) throws -> UInt64 { try stream(name).mapVersion }

    /// Why the stream `name` is quarantined (left out at start, its directory kept
    /// untouched), or nil.
    public func quarantineReason(of name: String) -> String? {
        quarantinedStreams.withLock { $0[PathComponent.encode(name)] }
    }

    /// Names of the quarantined streams whose directory name decodes to a stream name.
    public var quarantinedStreamNames: Set<String> {
        Set(quarantinedStreams.withLock { Array($0.keys) }.compactMap(PathComponent.decode))
    }

    /// Open shards in all streams (DescribeLimits' OpenShardCount).
    public var openShardCount: Int {
        streams.withLock { $0.values.reduce(0) { $0 + $1.metadata.openShards.count } }
    }

    public var onDemandStreamCount: Int {
        streams.withLock { $0.values.filter { $0.metadata.mode == StreamEngine.CapacityMode.onDemand.rawValue }.count }
    }

    /// The stream's ARN as a client in `region` sees it (the configured region when nil).
    /// Streams are one namespace per box: the same stream answers in every region, and
    /// its ARN names the region the request was signed for, as AWS's would.
    public func arn(of name: String, region: String? = nil) -> String {
        "arn:aws:kinesis:\(region ?? options.region):\(options.accountId):stream/\(name)"
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
}
