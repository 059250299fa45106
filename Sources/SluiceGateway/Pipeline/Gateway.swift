import Logging
import SluiceEngine
import SluiceStorage
import Synchronization

/// The gateway's core: sources hand it keyed records; it routes them with the sink's own
/// shard map, meters each shard, and makes every record durable in the sink or in that
/// shard's spool before `submit` returns, which is when a source may checkpoint.
public final class Gateway: Sendable {
    public struct Settings: Sendable {
        public var rates = ShardRateLimiter.Rates()
        public var spoolMaxBytes: Int64 = 1 << 30
        public var onFull = SpoolFullPolicy.block
        /// Hot-key threshold: share of one shard's limit.
        public var hotKeySharePercent: Double = 50

        public init() {}

        /// Spool segments: small enough that draining and `drop_oldest` free space in
        /// steps of a sixteenth of the bound, at most 64 MiB.
        var spoolSegmentBytes: Int64 { min(64 << 20, max(1 << 20, spoolMaxBytes / 16)) }
    }

    let sink: any GatewaySink
    public let settings: Settings
    let spoolDirectory: String
    let keys: (any KeyProvider)?
    let keyId: String?
    /// The gateway's disk and clock, which its sources share (checkpoints, device maps,
    /// MQTT's subscription memory; poll, rotation and reconnect timers).
    package let fileSystem: any FileSystem
    package let time: any TimeSource
    let logger: Logger
    let budget: SpoolBudget

    private struct StreamLanes {
        var map: ShardMap
        var open: [Int: ShardLane]
        var closed: [Int: ShardLane]
        let detector: HotKeyDetector
    }

    private let streams = Mutex<[String: StreamLanes]>([:])
    /// Per stream: producers whose records may come again after a restart.
    private let repeats = Mutex<[String: RepeatRequest]>([:])
    /// Serializes map refreshes, so one spool directory is never opened twice.
    private let refreshLock = AsyncLock()
    let newLanes: AsyncStream<ShardLane>
    private let newLanesContinuation: AsyncStream<ShardLane>.Continuation

    /// - Parameters:
    ///   - dataDirectory: spools live in `dataDirectory/spool` (SPOOL.md).
    ///   - keys, keyId: when set, spool segments are encrypted under master key `keyId`.
    ///   - fileSystem, time: the disk and clock of the spools, lanes and sources (seams for tests).
    public init(
        sink: any GatewaySink, dataDirectory: String, settings: Settings, keys: (any KeyProvider)?, keyId: String?,
        fileSystem: any FileSystem = PosixFileSystem(), time: any TimeSource = SystemTimeSource(), logger: Logger
    ) {
        self.sink = sink
        self.fileSystem = fileSystem
        self.time = time
        self.settings = settings
        self.spoolDirectory = dataDirectory + "/spool"
        self.keys = keys
        self.keyId = keyId
        self.logger = logger
        budget = SpoolBudget(maxBytes: settings.spoolMaxBytes, policy: settings.onFull, time: time, logger: logger)
        (newLanes, newLanesContinuation) = AsyncStream.makeStream(of: ShardLane.self)
    }

    /// Says that records of `producers` (with their origin) may come again: a source that
    /// resumed files from checkpoints saved at `sinceMillis` or later. Each shard then skips
    /// those it already holds, in its log or its spool, so a crash stores nothing twice.
    /// Call before submitting them.
    public func expectRepeats(stream: String, producers: Set<UInt64>, sinceMillis: Int64) {
        guard !producers.isEmpty else { return }
        repeats.withLock { all in
            all[stream] = all[stream]?.merged(producers: producers, sinceMillis: sinceMillis)
                ?? RepeatRequest(id: 1, producers: producers, sinceMillis: sinceMillis)
        }
    }

    /// Makes `records` (all of one stream) durable in the sink or the spool, each shard's
    /// in order. Under `block` with a full spool it waits, which is how sources pause.
    /// - Throws: when the stream does not exist or a spool cannot store; records of this
    ///   call may then be partly stored, so the caller must not checkpoint past any of them.
    public func submit(stream: String, records: [PutRecordInput]) async throws {
        var pending = records
        while !pending.isEmpty {
            let (map, lanes, detector) = try await lanes(of: stream)
            var groups: [Int: [PutRecordInput]] = [:]
            var order: [Int] = []
            var keyUsage: [String: (shard: Int, bytes: Int, records: Int)] = [:]
            // Records of one source often share a key: route and count a run of them once.
            var run: (key: String, explicit: String?, shard: Int, bytes: Int, records: Int)?
            func closeRun() {
                guard let r = run else { return }
                keyUsage[r.key, default: (r.shard, 0, 0)].bytes += r.bytes
                keyUsage[r.key, default: (r.shard, 0, 0)].records += r.records
            }
            for record in pending {
                let shard: Int
                if let r = run, r.key == record.partitionKey, r.explicit == record.explicitHashKey {
                    shard = r.shard
                    run!.bytes += record.size
                    run!.records += 1
                } else {
                    guard let entry = map.route(partitionKey: record.partitionKey, explicitHashKey: record.explicitHashKey) else {
                        throw EngineError(.internalFailure, "No open shard of stream \(stream) owns the hash key of partition key \(record.partitionKey).")
                    }
                    closeRun()
                    shard = entry.index
                    run = (record.partitionKey, record.explicitHashKey, shard, record.size, 1)
                }
                if groups[shard] == nil { order.append(shard) }
                groups[shard, default: []].append(record)
            }
            closeRun()
            for (key, usage) in keyUsage {
                detector.observe(key: key, shard: usage.shard, bytes: usage.bytes, records: usage.records, openShards: map.open.count)
            }
            let work = order.compactMap { index in lanes[index].map { ($0, groups[index]!) } }
            pending = try await withThrowingTaskGroup(of: [PutRecordInput].self) { group in
                for (lane, records) in work {
                    group.addTask { try await lane.offer(records) }
                }
                var rerouted: [PutRecordInput] = []
                for try await leftover in group { rerouted += leftover }
                return rerouted
            }
        }
    }

    /// Opens the lanes of `streams` now, so spools left from a previous run start draining
    /// before any new record arrives.
    public func prepare(streams names: [String]) async {
        for name in Set(names).sorted() {
            do { _ = try await lanes(of: name) } catch {
                logger.error("gateway: cannot open the lanes of a stream; its sources retry", metadata: ["stream": "\(name)", "error": "\(error)"])
            }
        }
    }

    /// Looks at every known stream's shard map and follows any resharding, even when no
    /// records arrive to notice it.
    public func refreshAll() async {
        let names = streams.withLock { Array($0.keys) }
        for name in names { _ = try? await lanes(of: name) }
    }

    /// The stream's current map and lanes, following the sink's map when it changed:
    /// lanes of shards that closed stop taking records (their spools keep draining), lanes
    /// of new shards open.
    private func lanes(of stream: String) async throws -> (ShardMap, [Int: ShardLane], HotKeyDetector) {
        let version = try await sink.shardMapVersion(stream: stream)
        if let current = streams.withLock({ $0[stream] }), current.map.version == version {
            return (current.map, current.open, current.detector)
        }
        return try await refreshLock.withLock {
            let map = try await sink.shardMap(stream: stream)
            if let current = streams.withLock({ $0[stream] }), current.map.version == map.version {
                return (current.map, current.open, current.detector)
            }
            var lanes = streams.withLock { $0[stream] } ?? StreamLanes(
                map: map, open: [:], closed: [:],
                detector: HotKeyDetector(stream: stream, rates: settings.rates,
                                         settings: .init(hotSharePercent: settings.hotKeySharePercent), time: time, logger: logger)
            )
            let openIndexes = Set(map.open.map(\.index))
            var created: [ShardLane] = []
            for (index, lane) in lanes.open where !openIndexes.contains(index) {
                lane.close()
                lanes.open[index] = nil
                lanes.closed[index] = lane
                logger.info("gateway: shard closed by resharding; its spool drains to the shards that own its keys now", metadata: [
                    "stream": "\(stream)", "shard": "\(lane.shardId)", "spooled": "\(lane.spool.pendingRecords)",
                ])
            }
            let isFirstLook = lanes.open.isEmpty && lanes.closed.isEmpty
            for lane in lanes.open.values { lane.confirm(mapVersion: map.version) }
            for entry in map.open where lanes.open[entry.index] == nil {
                let lane = try openLane(stream: stream, shardId: entry.shardId, index: entry.index)
                lane.confirm(mapVersion: map.version)
                // What the shard stored in its last second (before a restart) counts.
                lane.limiter.seed(await sink.recentArrivals(stream: stream, shardIndex: entry.index))
                lanes.open[entry.index] = lane
                created.append(lane)
            }
            if isFirstLook {
                for (shardId, index) in try spooledShards(of: stream) where !openIndexes.contains(index) {
                    let lane = try openLane(stream: stream, shardId: shardId, index: index)
                    guard !lane.spool.isEmpty else {
                        try? await lane.spool.close()
                        continue
                    }
                    lane.close()
                    lanes.closed[index] = lane
                    created.append(lane)
                    logger.info("gateway: draining the spool of a shard closed since the last run", metadata: [
                        "stream": "\(stream)", "shard": "\(shardId)", "spooled": "\(lane.spool.pendingRecords)",
                    ])
                }
            }
            lanes.map = map
            let updated = lanes
            streams.withLock { $0[stream] = updated }
            for lane in created { newLanesContinuation.yield(lane) }
            return (updated.map, updated.open, updated.detector)
        }
    }

    private func openLane(stream: String, shardId: String, index: Int) throws -> ShardLane {
        let spool = try ShardSpool(
            directory: spoolDirectory + "/" + PathComponent.encode(stream) + "/spool-" + shardId, segmentMaxBytes: settings.spoolSegmentBytes,
            keys: keys, keyId: keyId, fileSystem: fileSystem, time: time, logger: logger
        )
        return ShardLane(
            stream: stream, shardId: shardId, index: index, rates: settings.rates,
            spool: spool, sink: sink,
            space: SpoolSpace(
                used: { [weak self] in self?.spoolBytes ?? 0 }, maxBytes: budget.maxBytes,
                makeRoom: { [weak self] bytes, first in await self?.makeRoom(for: bytes, first: first) ?? false },
                shrank: { [budget] in budget.room.signal() }
            ),
            time: time,
            mustWait: { [weak self] in self?.closedShardsSpool(stream, olderThan: index) ?? false },
            repeats: { [weak self] in self?.repeats.withLock { $0[stream] } }, logger: logger
        )
    }

    /// Spool directories left on disk for `stream`: (shard id, index).
    private func spooledShards(of stream: String) throws -> [(String, Int)] {
        let fs = fileSystem
        let directory = spoolDirectory + "/" + PathComponent.encode(stream)
        guard fs.isDirectory(directory) else { return [] }
        return try fs.listDirectory(directory).compactMap { name in
            guard name.hasPrefix("spool-shardId-"), let index = ShardID.index(String(name.dropFirst("spool-".count))) else { return nil }
            return (String(name.dropFirst("spool-".count)), index)
        }
    }

    /// Every lane, open and closed, of every stream.
    private var allLanes: [ShardLane] {
        streams.withLock { $0.values.flatMap { Array($0.open.values) + Array($0.closed.values) } }
    }

    /// Bytes every spool takes on disk: what `spool_max_bytes` bounds.
    var spoolBytes: Int64 { allLanes.reduce(0) { $0 + $1.spool.diskBytes } }

    /// Makes room for `bytes` by the budget's decision: `block` waits until they fit (only
    /// the first record's worth is waited for, so a big batch cannot wait forever);
    /// `drop_oldest` drops the oldest segment of the biggest spool until they fit or
    /// nothing is left to drop. Returns whether the caller may spool past the bound.
    private func makeRoom(for bytes: Int, first: Int) async -> Bool {
        switch budget.policy {
        case .block:
            await budget.waitForRoom(for: min(bytes, first)) { self.spoolBytes }
            return false
        case .dropOldest:
            while !budget.fits(bytes, used: spoolBytes) {
                // One lane's lock at a time, never while holding one.
                guard let victim = allLanes.filter({ !$0.spool.isEmpty }).max(by: { $0.spool.diskBytes < $1.spool.diskBytes }) else { break }
                let dropped = await victim.dropOldest()
                guard dropped > 0 else { break }
                budget.count(dropped: dropped, stream: victim.stream, shardId: victim.shardId)
            }
            return true
        }
    }

    /// Whether a closed shard of `stream` older than shard `index` still spools records:
    /// they go before anything of shard `index` for the keys they share. A shard's
    /// ancestors all have lower indexes, so waiting for every older closed shard keeps each
    /// key's order across any chain of splits and merges (a closed shard's spool waits for
    /// its own parents' too).
    private func closedShardsSpool(_ stream: String, olderThan index: Int) -> Bool {
        let closed = streams.withLock { $0[stream].map { Array($0.closed.values) } ?? [] }
        return closed.contains { $0.index < index && !$0.spool.isEmpty }
    }

    /// Runs every lane's spool drain (one task each, started as lanes open) until the task
    /// is cancelled or the gateway shuts down.
    public func runDrains() async {
        await withTaskGroup(of: Void.self) { drains in
            for await lane in newLanes {
                drains.addTask {
                    await lane.runDrain()
                    await self.retire(lane)
                }
            }
        }
    }

    /// A closed lane whose spool is empty is done.
    func retire(_ lane: ShardLane) async {
        guard lane.isClosed, lane.spool.isEmpty else { return }
        streams.withLock { s in
            if s[lane.stream]?.closed[lane.index] === lane { s[lane.stream]?.closed[lane.index] = nil }
        }
        await lane.shutdown()
    }

    /// Writes every spool's cursor and closes the spools (shutdown).
    public func shutdown() async {
        newLanesContinuation.finish()
        let all = streams.withLock { s in s.values.flatMap { Array($0.open.values) + Array($0.closed.values) } }
        for lane in all { await lane.shutdown() }
    }

    public func status(nowMillis: Int64? = nil) -> (streams: [GatewayStatus.Stream], spool: GatewayStatus.Spool) {
        let nowMillis = nowMillis ?? time.nowMillis()
        let snapshot = streams.withLock { $0 }
        let streams = snapshot.keys.sorted().map { name -> GatewayStatus.Stream in
            let lanes = snapshot[name]!
            let shards = (Array(lanes.open.values) + Array(lanes.closed.values)).sorted { $0.index < $1.index }
            return GatewayStatus.Stream(
                name: name, shards: shards.map { $0.status(nowMillis: nowMillis) },
                hotKeys: lanes.detector.hotKeys, distinctKeys: lanes.detector.distinctKeys
            )
        }
        let spool = GatewayStatus.Spool(
            usedBytes: spoolBytes, maxBytes: settings.spoolMaxBytes, onFull: settings.onFull.rawValue, droppedRecords: budget.droppedRecords
        )
        return (streams, spool)
    }
}
