import SluiceStorage

/// One stored record as a write limiter counts it: when it arrived and its size
/// (partition key and data, as Kinesis counts a record against a shard's limit).
public struct Arrival: Sendable, Equatable {
    public var millis: Int64
    public var bytes: Int

    public init(millis: Int64, bytes: Int) {
        self.millis = millis
        self.bytes = bytes
    }
}

/// A shard's recent arrivals and the engine's clock when they were read: the meter
/// measures their ages on the same clock that stamped them.
public struct RecentArrivals: Sendable, Equatable {
    public var arrivals: [Arrival]
    public var nowMillis: Int64

    public init(arrivals: [Arrival], nowMillis: Int64) {
        self.arrivals = arrivals
        self.nowMillis = nowMillis
    }
}

extension StreamReader {
    /// The records a shard stored within the last `window` milliseconds, oldest first:
    /// what a write limiter made after a restart must count, so that the second around a
    /// restart (a kill -9 included) does not carry a full second's limit twice. Reads at
    /// most 20,000 records; empty for a shard that does not exist (any more).
    public func recentArrivals(stream name: String, shardIndex: Int, window: Int64 = 1_005) -> RecentArrivals {
        let now = context.clock.nowMillis()
        guard let handle = try? catalog.stream(name), let (_, shard) = handle.shard(shardIndex),
              let from = try? shard.log.offset(atTimestamp: now - window),
              let read = try? shard.log.read(from: from, maxRecords: 20_000, maxBytes: 64 << 20) else {
            return RecentArrivals(arrivals: [], nowMillis: now)
        }
        let arrivals = read.records.filter { $0.timestampMillis >= now - window }.map {
            Arrival(millis: $0.timestampMillis, bytes: $0.size)
        }
        return RecentArrivals(arrivals: arrivals, nowMillis: now)
    }
}

extension StreamReader {
    /// The highest sequence each producer has stored in one shard since `sinceMillis`
    /// (arrival time): what a restarted file source must not store again.
    public func originHighWater(stream name: String, shardIndex: Int, sinceMillis: Int64, producers: Set<UInt64>) throws -> [UInt64: UInt64] {
        guard let (_, shard) = try catalog.stream(name).shard(shardIndex) else { return [:] }
        return try shard.log.highWater(of: producers, from: try shard.log.offset(atTimestamp: sinceMillis))
    }

    /// Which of `wanted` one shard stored since `sinceMillis` (arrival time), by exact
    /// origin: what a spool's drain may have stored just before a crash. With
    /// `andLaterShards`, every shard created after it too (a closed shard's records went to
    /// its children, which all have higher indexes).
    public func storedOrigins(
        stream name: String, shardIndex: Int, andLaterShards: Bool = false, sinceMillis: Int64, among wanted: Set<RecordOrigin>
    ) throws -> Set<RecordOrigin> {
        let handle = try catalog.stream(name)
        var found: Set<RecordOrigin> = []
        for shard in handle.allShards where shard.index == shardIndex || (andLaterShards && shard.index > shardIndex) {
            found.formUnion(try shard.log.origins(among: wanted, from: try shard.log.offset(atTimestamp: sinceMillis)))
            if found.count == wanted.count { break }
        }
        return found
    }
}
