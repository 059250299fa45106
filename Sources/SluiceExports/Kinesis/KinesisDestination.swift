import FoundationEssentials
import Logging
import Metrics
import SluiceEngine
import SluiceKinesis
import SluiceStorage
import Synchronization

/// `[[exports]] kind = "kinesis"`: a remote Kinesis stream (Amazon Kinesis, or anything that
/// speaks its API), written with signed PutRecords calls.
///
/// - **Pacing per remote shard.** Each record is routed by the remote's shard map (MD5 of
///   the partition key) and admitted by that remote shard's meter at Kinesis' limits,
///   1 MiB/s and 1,000 records/s over any one-second window (an aggregated record counts
///   as one record, with its full size), so the box does not collect throttles. Several
///   local shards writing to one remote shard share its meter.
/// - **Calls** carry at most 500 records and 5 MiB, records of several remote shards
///   together.
/// - **Order per key.** A remote shard's records go in their local order. When the remote
///   refuses some records of a call, the first refused record of each remote shard and
///   everything after it in that call for that shard is sent again, in order: a key's
///   records then arrive in order (counted in `ExportRetriedRecords`; records that had been
///   accepted and go again are counted as duplicates, `ExportDuplicateRecords`).
/// - **Failures** of a whole call (the remote down, a timeout, a throttled call) are
///   retried with exponential backoff and full jitter for as long as it takes: the local
///   stream holds the records meanwhile. Records of a call that got no answer and are
///   sent again may be stored twice (`ExportUnansweredRecords`).
/// - With `aggregationMaxBytes`, each remote shard's records of a call are packed into KPL
///   aggregated records of at most that size.
public final class KinesisDestination: ExportDestination {
    public struct Settings: Sendable {
        public var remoteStream: String
        public var endpoint: String
        public var rates = ShardRateLimiter.Rates()
        public var aggregationMaxBytes: Int?
        public var mapRefresh: Duration = .seconds(30)
        public var backoff = Backoff(base: .milliseconds(100), cap: .seconds(5))

        public init(remoteStream: String, endpoint: String) {
            self.remoteStream = remoteStream
            self.endpoint = endpoint
        }
    }

    /// PutRecords' bounds.
    static let maxEntriesPerCall = 500
    static let maxBytesPerCall = 5 << 20

    public let settings: Settings
    let client: KinesisClient
    let map: RemoteShardMap
    let logger: Logger
    private let limiters = Mutex<[String: ShardRateLimiter]>([:])
    private let counts = Mutex(Counts())
    private let failureLog = LogRateLimit()
    private let retried: Counter
    private let duplicates: Counter
    private let unanswered: Counter
    private let failedCalls: Counter

    struct Counts: Sendable {
        var retried: UInt64 = 0
        var duplicates: UInt64 = 0
        var unanswered: UInt64 = 0
        var failedCalls: UInt64 = 0
        var failure: String?
    }

    public init(client: KinesisClient, settings: Settings, export: String, logger: Logger) {
        self.client = client
        self.settings = settings
        self.logger = logger
        map = RemoteShardMap(client: client, stream: settings.remoteStream, refresh: settings.mapRefresh, logger: logger)
        let dimensions = [("export", export)]
        retried = Counter(label: "ExportRetriedRecords", dimensions: dimensions)
        duplicates = Counter(label: "ExportDuplicateRecords", dimensions: dimensions)
        unanswered = Counter(label: "ExportUnansweredRecords", dimensions: dimensions)
        failedCalls = Counter(label: "ExportFailedCalls", dimensions: dimensions)
    }

    public var description: String {
        "kinesis stream \(settings.remoteStream) at \(settings.endpoint)\(settings.aggregationMaxBytes == nil ? "" : " (KPL aggregation)")"
    }

    public var statistics: [String: UInt64] {
        let c = counts.withLock { $0 }
        return ["retriedRecords": c.retried, "duplicateRecords": c.duplicates, "unansweredRecords": c.unanswered, "failedCalls": c.failedCalls]
    }

    public var failure: String? { counts.withLock { $0.failure } }

    public func shutdown() async {
        try? await client.shutdown()
    }

    private func limiter(_ shardId: String) -> ShardRateLimiter {
        limiters.withLock { all in
            if let found = all[shardId] { return found }
            let made = ShardRateLimiter(rates: settings.rates)
            all[shardId] = made
            return made
        }
    }

    /// One remote shard's records of the batch, in local order, and how far they went.
    private struct Lane {
        var shardId: String
        var records: [Int]
        var head = 0
        var pending: Bool { head < records.count }
    }

    /// One entry of a call: the user records it carries (one, or many when aggregated).
    private struct Entry {
        var lane: Int
        var count: Int
        var request: PutRecordsRequestEntry
        var size: Int
    }

    public func submit(_ batch: ConsumerBatch, stream: String) async throws -> DeliveryReceipt {
        try await deliver(batch)
        return .delivered()
    }

    /// Sends every record of the batch; returns once the remote has them all.
    func deliver(_ batch: ConsumerBatch) async throws {
        let records = batch.records
        var lanes = try await route(records)
        var refusedRounds = 0
        while lanes.contains(where: \.pending) {
            try Task.checkCancellation()
            var entries: [Entry] = []
            var bytes = 0
            var tickets: [(lane: Int, ticket: UInt64, start: Int)] = []
            for k in lanes.indices where lanes[k].pending && entries.count < Self.maxEntriesPerCall {
                let candidates = candidateEntries(lanes[k], lane: k, records: records, slots: Self.maxEntriesPerCall - entries.count, bytes: Self.maxBytesPerCall - bytes)
                let (admitted, ticket) = limiter(lanes[k].shardId).admitWithTicket(sizes: candidates.map(\.size))
                guard admitted > 0 else { continue }
                tickets.append((k, ticket, lanes[k].head))
                for entry in candidates.prefix(admitted) {
                    entries.append(entry)
                    bytes += entry.size
                    lanes[k].head += entry.count
                }
            }
            if entries.isEmpty {
                try await Task.sleep(for: waitForRoom(lanes, records: records))
                continue
            }
            let results = try await send(entries.map(\.request))
            for (lane, ticket, _) in tickets { limiter(lanes[lane].shardId).settle(ticket: ticket) }
            if requeueRefused(entries, results: results, lanes: &lanes, starts: tickets) {
                // Refused records (throttled by a remote slower than its limits): back off
                // before they go again.
                try await settings.backoff.sleep(attempt: refusedRounds)
                refusedRounds += 1
            } else {
                refusedRounds = 0
            }
        }
    }

    /// Groups the batch's records by the remote shard each routes to, keeping their order.
    private func route(_ records: [StoredRecord]) async throws -> [Lane] {
        var attempt = 0
        while true {
            do {
                let remote = try await map.current()
                var lanes: [Lane] = []
                var laneOf: [String: Int] = [:]
                for (k, record) in records.enumerated() {
                    let shardId = remote.route(partitionKey: record.partitionKey)?.shardId ?? remote.open[0].shardId
                    if let lane = laneOf[shardId] {
                        lanes[lane].records.append(k)
                    } else {
                        laneOf[shardId] = lanes.count
                        lanes.append(Lane(shardId: shardId, records: [k]))
                    }
                }
                return lanes
            } catch let error where !(error is CancellationError) {
                noteFailure(error, "cannot read the remote stream's shards (ListShards); retrying")
                try await settings.backoff.sleep(attempt: attempt)
                attempt += 1
            }
        }
    }

    /// The entries a lane could put in the call now: its next records, aggregated when
    /// configured, within the call's free entries and bytes.
    private func candidateEntries(_ lane: Lane, lane index: Int, records: [StoredRecord], slots: Int, bytes: Int) -> [Entry] {
        var entries: [Entry] = []
        var used = 0
        if let maxBytes = settings.aggregationMaxBytes {
            // Pack what could fill the call's free bytes, then keep the entries that fit.
            var end = lane.head
            var raw = 0
            while end < lane.records.count, end - lane.head < 10_000 {
                let record = records[lane.records[end]]
                raw += record.size
                if end > lane.head, raw > bytes { break }
                end += 1
            }
            let users = lane.records[lane.head..<end].map {
                KPLAggregatedRecord.UserRecord(partitionKey: records[$0].partitionKey, data: records[$0].data)
            }
            for packed in KPLAggregatedRecord.pack(users, maxBytes: maxBytes) {
                let size = packed.data.count + packed.partitionKey.utf8.count
                guard entries.count < slots, entries.isEmpty || used + size <= bytes else { break }
                entries.append(Entry(lane: index, count: packed.count, request: PutRecordsRequestEntry(Data: Data(packed.data), PartitionKey: packed.partitionKey), size: size))
                used += size
            }
            return entries
        }
        var k = lane.head
        while k < lane.records.count, entries.count < slots {
            let record = records[lane.records[k]]
            let size = record.size
            if !entries.isEmpty, used + size > bytes { break }
            entries.append(Entry(lane: index, count: 1, request: PutRecordsRequestEntry(Data: Data(record.data), PartitionKey: record.partitionKey), size: size))
            used += size
            k += 1
        }
        return entries
    }

    /// How long until some lane's next record fits its remote shard's meter.
    private func waitForRoom(_ lanes: [Lane], records: [StoredRecord]) -> Duration {
        let waits = lanes.filter(\.pending).map { lane in
            let record = records[lane.records[lane.head]]
            return limiter(lane.shardId).delay(forSize: record.size)
        }
        return max(.milliseconds(1), waits.min() ?? .milliseconds(1))
    }

    /// One PutRecords call, sent until the remote answers it (retrying a failed call with
    /// backoff): the per-entry results, in order.
    private func send(_ entries: [PutRecordsRequestEntry]) async throws -> [PutRecordsResultEntry] {
        var attempt = 0
        var unansweredBefore = false
        while true {
            do {
                let output = try await client.putRecords(settings.remoteStream, records: entries)
                guard output.Records.count == entries.count else {
                    throw KinesisError(type: "InternalFailure", message: "PutRecords answered \(output.Records.count) results for \(entries.count) records", status: 500)
                }
                counts.withLock {
                    $0.failure = nil
                    if unansweredBefore { $0.unanswered += UInt64(entries.count) }
                }
                if unansweredBefore { unanswered.increment(by: entries.count) }
                return output.Records
            } catch let error where !(error is CancellationError) && !Task.isCancelled {
                counts.withLock { $0.failedCalls += 1 }
                failedCalls.increment()
                // An error answer stored nothing; no answer at all may have stored everything.
                if !(error is KinesisError) { unansweredBefore = true }
                if let error = error as? KinesisError, error.type == "ResourceNotFoundException" { map.invalidate() }
                noteFailure(error, "PutRecords to the remote stream failed; the records stay in the local stream and are sent again")
                try await settings.backoff.sleep(attempt: attempt)
                attempt += 1
            }
        }
    }

    /// After a call: for each remote shard, the first refused entry and every entry after
    /// it (of that shard, in this call) go back to the front of its lane.
    /// - Returns: whether anything was refused.
    private func requeueRefused(_ entries: [Entry], results: [PutRecordsResultEntry], lanes: inout [Lane], starts: [(lane: Int, ticket: UInt64, start: Int)]) -> Bool {
        var firstRefused: [Int: Int] = [:]  // lane → user records before its first refused entry
        var sentBefore: [Int: Int] = [:]
        var resent = 0
        var duplicated = 0
        for (entry, result) in zip(entries, results) {
            if firstRefused[entry.lane] == nil {
                if result.ErrorCode != nil {
                    firstRefused[entry.lane] = sentBefore[entry.lane, default: 0]
                    resent += entry.count
                } else {
                    sentBefore[entry.lane, default: 0] += entry.count
                }
            } else {
                resent += entry.count
                if result.ErrorCode == nil { duplicated += entry.count }
            }
        }
        guard !firstRefused.isEmpty else { return false }
        for (lane, accepted) in firstRefused {
            lanes[lane].head = starts.first { $0.lane == lane }!.start + accepted
        }
        counts.withLock {
            $0.retried += UInt64(resent)
            $0.duplicates += UInt64(duplicated)
        }
        retried.increment(by: resent)
        duplicates.increment(by: duplicated)
        return true
    }

    private func noteFailure(_ error: any Error, _ message: Logger.Message) {
        counts.withLock { $0.failure = "\(error)" }
        failureLog.log(logger, .warning, message, metadata: [
            "remote_stream": "\(settings.remoteStream)", "endpoint": "\(settings.endpoint)", "error": "\(error)",
        ])
    }
}
