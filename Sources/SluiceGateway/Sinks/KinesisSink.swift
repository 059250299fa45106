import Foundation
import Logging
import Metrics
import SluiceEngine
import SluiceKinesis
import SluiceStorage
import Synchronization

/// Forwards records to a remote Kinesis stream of the same name (Amazon Kinesis, or any
/// compatible endpoint) with signed PutRecords calls.
///
/// - The limiter meters against the *remote* stream's shard map (ListShards, looked at
///   again every `mapRefresh`, so a resharded remote stream is followed), which keeps the
///   box under Kinesis' per-shard limits instead of collecting throttles.
/// - Each put is cut into PutRecords calls of at most 500 records and 5 MiB; at most
///   `maxInFlightRequests` calls run at once across all shards.
/// - Records the remote refuses individually (throttled, internal failure) are sent
///   again, only they and in their order, with exponential backoff and full jitter, up to
///   `maxAttempts`; what still fails is reported so the gateway keeps it in the spool.
///   A call that fails as a whole (remote down, network) throws: the spool holds the
///   records until the remote is back.
/// - With `aggregationMaxBytes` the records of a put (one shard's) are packed into KPL
///   aggregated records of up to that size.
public final class KinesisSink: GatewaySink {
    public struct Settings: Sendable {
        public var maxInFlightRequests = 8
        public var maxAttempts = 6
        public var retryBase: Duration = .milliseconds(100)
        public var retryMax: Duration = .seconds(5)
        public var mapRefresh: Duration = .seconds(30)
        /// How long a put waits for others (of any shard) to share its PutRecords call;
        /// a full call goes at once. Zero: every put is its own call.
        public var linger: Duration = .milliseconds(20)
        /// KPL aggregation: pack records into aggregated records of at most this size.
        public var aggregationMaxBytes: Int?

        public init() {}
    }

    /// PutRecords' bounds.
    static let maxRecordsPerCall = 500
    static let maxBytesPerCall = 5 << 20

    let client: KinesisClient
    public let settings: Settings
    let logger: Logger
    /// Sends one call with its retries; `KinesisSinkRetriedRecords` counts what it resent.
    private let sender: RetryingSender
    private let coalescer: PutRecordsCoalescer?
    private let maps = Mutex<[String: (map: ShardMap, at: ContinuousClock.Instant)]>([:])

    public init(client: KinesisClient, settings: Settings, logger: Logger) {
        self.client = client
        self.settings = settings
        self.logger = logger
        let slots = AsyncSemaphore(settings.maxInFlightRequests)
        let sender = RetryingSender(client: client, settings: settings, slots: slots, retried: Counter(label: "KinesisSinkRetriedRecords"))
        self.sender = sender
        coalescer = settings.linger > .zero
            ? PutRecordsCoalescer(linger: settings.linger, maxRecords: Self.maxRecordsPerCall, maxBytes: Self.maxBytesPerCall) { try await sender.send(stream: $0, $1) }
            : nil
    }

    // MARK: - The remote shard map

    public func shardMap(stream: String) async throws -> ShardMap {
        if let cached = maps.withLock({ $0[stream] }), ContinuousClock.now - cached.at < settings.mapRefresh { return cached.map }
        let shards = try await client.listShards(stream)
        var entries: [ShardMap.Entry] = []
        for shard in shards where shard.SequenceNumberRange.EndingSequenceNumber == nil {
            guard let index = Self.index(of: shard.ShardId), let low = UInt128(shard.HashKeyRange.StartingHashKey),
                  let high = UInt128(shard.HashKeyRange.EndingHashKey) else { continue }
            let parents = [shard.ParentShardId, shard.AdjacentParentShardId].compactMap { $0.flatMap(Self.index(of:)) }
            entries.append(.init(shardId: shard.ShardId, index: index, hashKeyRange: low...high, parentIndexes: parents))
        }
        // The version names the set of open shards: it changes exactly when they do.
        let version = UInt64(CRC32C.checksum(Array(entries.map(\.shardId).sorted().joined(separator: ",").utf8)))
        let previous = maps.withLock { $0[stream]?.map }
        let map = ShardMap(stream: stream, version: version, open: entries)
        maps.withLock { $0[stream] = (map, .now) }
        if let previous, previous.version != map.version {
            logger.info("remote stream resharded; the limiter follows its new shard map", metadata: [
                "stream": "\(stream)", "open_shards": "\(map.open.count)",
            ])
        }
        return map
    }

    public func shardMapVersion(stream: String) async throws -> UInt64 {
        try await shardMap(stream: stream).version
    }

    /// `shardId-000000000012` → 12.
    static func index(of shardId: String) -> Int? {
        shardId.split(separator: "-").last.flatMap { Int($0) }
    }

    // MARK: - Putting

    public func put(stream: String, records: [SluiceEngine.PutRecordInput]) async throws -> [SinkOutcome] {
        guard let maxBytes = settings.aggregationMaxBytes else { return try await putRecords(stream: stream, records) }
        // One shard's records packed into aggregated records: each stands or falls as one.
        let groups = KPLAggregatedRecord.pack(records.map {
            .init(partitionKey: $0.partitionKey, explicitHashKey: $0.explicitHashKey, data: $0.data)
        }, maxBytes: maxBytes)
        let packed = groups.map { SluiceEngine.PutRecordInput(partitionKey: $0.partitionKey, data: $0.data) }
        let outcomes = try await putRecords(stream: stream, packed)
        var perRecord: [SinkOutcome] = []
        perRecord.reserveCapacity(records.count)
        for (group, outcome) in zip(groups, outcomes) {
            perRecord += Array(repeating: outcome, count: group.count)
        }
        return perRecord
    }

    /// PutRecords in calls of ≤ 500 records and ≤ 5 MiB, failed records retried.
    private func putRecords(stream: String, _ records: [SluiceEngine.PutRecordInput]) async throws -> [SinkOutcome] {
        var outcomes: [SinkOutcome] = []
        outcomes.reserveCapacity(records.count)
        var start = 0
        while start < records.count {
            var end = start
            var bytes = 0
            while end < records.count, end - start < Self.maxRecordsPerCall {
                let size = records[end].data.count + records[end].partitionKey.utf8.count
                if end > start, bytes + size > Self.maxBytesPerCall { break }
                bytes += size
                end += 1
            }
            let call = Array(records[start..<end])
            if let coalescer {
                outcomes += try await coalescer.put(stream: stream, records: call)
            } else {
                outcomes += try await sender.send(stream: stream, call)
            }
            start = end
        }
        return outcomes
    }
}

/// One PutRecords call and its retries: only the records the remote refused are sent
/// again, in their order, with exponential backoff and full jitter.
struct RetryingSender: Sendable {
    let client: KinesisClient
    let settings: KinesisSink.Settings
    let slots: AsyncSemaphore
    let retried: Counter

    func send(stream: String, _ records: [SluiceEngine.PutRecordInput]) async throws -> [SinkOutcome] {
        var outcomes = [SinkOutcome](repeating: .failed(EngineError(.internalFailure, "not sent")), count: records.count)
        var pending = Array(records.indices)
        var attempt = 0
        while !pending.isEmpty {
            let entries = pending.map { PutRecordsRequestEntry(Data: Data(records[$0].data), PartitionKey: records[$0].partitionKey, ExplicitHashKey: records[$0].explicitHashKey) }
            await slots.acquire()
            let result: PutRecordsOutput
            do {
                result = try await client.putRecords(stream, records: entries)
                slots.release()
            } catch {
                slots.release()
                // Throttled as a whole, or the remote is down: the first attempt reports it
                // to the spool; later ones keep what earlier attempts stored.
                if attempt == 0 { throw error }
                for index in pending { outcomes[index] = .failed(EngineError(.internalFailure, "\(error)")) }
                return outcomes
            }
            var failed: [Int] = []
            for (index, entry) in zip(pending, result.Records) {
                if let code = entry.ErrorCode {
                    failed.append(index)
                    outcomes[index] = .failed(EngineError(EngineError.Kind(rawValue: code) ?? .internalFailure, entry.ErrorMessage ?? code))
                } else {
                    outcomes[index] = .stored
                }
            }
            pending = failed
            attempt += 1
            guard !pending.isEmpty, attempt < settings.maxAttempts else { break }
            retried.increment(by: pending.count)
            // Full jitter: a random wait up to base × 2^attempt, capped.
            let ceiling = min(settings.retryMax, settings.retryBase * (1 << min(attempt, 16)))
            try await Task.sleep(for: .nanoseconds(Int64.random(in: 0...max(1, Int64(ceiling / .nanoseconds(1))))))
        }
        return outcomes
    }
}
