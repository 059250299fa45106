import SluiceEngine
import SluiceStorage

/// What a sink did with one record.
public enum SinkOutcome: Sendable {
    case stored
    case failed(EngineError)

    public var isStored: Bool { if case .stored = self { true } else { false } }
}

/// Where the gateway stores records, and whose shard map its limiter meters against: the
/// embedded engine (`EmbeddedSink`; records leave the box through exports). A seam for
/// tests and for the export benchmark's comparison with the old direct path.
public protocol GatewaySink: Sendable {
    func shardMap(stream: String) async throws -> ShardMap
    /// Cheap staleness check for a cached map.
    func shardMapVersion(stream: String) async throws -> UInt64
    /// Stores records of one shard of one stream (any number; the sink batches as its
    /// remote needs) and says per record what happened, in order. What it stores of one
    /// call is a prefix (the engine's meter admits a prefix; a failure fails the rest), so
    /// the records it refuses can be spooled behind what it stored without reordering a key. `route` is the shard they
    /// were routed to and the map that said so (nil: the sink routes them itself).
    func put(stream: String, records: [PutRecordInput], routedTo route: ShardRoute?) async throws -> [SinkOutcome]
    /// What a shard stored in the last second (its meter counts it after a restart).
    func recentArrivals(stream: String, shardIndex: Int) async -> RecentArrivals
    /// The highest sequence each producer stored in a shard since `sinceMillis`.
    func highWater(stream: String, shardIndex: Int, sinceMillis: Int64, producers: Set<UInt64>) async throws -> [UInt64: UInt64]
    /// Which of `wanted` a shard (with `andLaterShards`, or any shard created after it)
    /// stored since `sinceMillis`, by exact origin.
    func storedOrigins(stream: String, shardIndex: Int, andLaterShards: Bool, sinceMillis: Int64, among wanted: Set<RecordOrigin>) async throws -> Set<RecordOrigin>
}

extension GatewaySink {
    public func recentArrivals(stream: String, shardIndex: Int) async -> RecentArrivals { RecentArrivals(arrivals: [], nowMillis: 0) }
    public func highWater(stream: String, shardIndex: Int, sinceMillis: Int64, producers: Set<UInt64>) async throws -> [UInt64: UInt64] { [:] }
    public func storedOrigins(stream: String, shardIndex: Int, andLaterShards: Bool, sinceMillis: Int64, among wanted: Set<RecordOrigin>) async throws -> Set<RecordOrigin> { [] }
}

/// The default sink: the embedded stream engine in the same process.
public struct EmbeddedSink: GatewaySink {
    let engine: StreamEngine

    public init(engine: StreamEngine) { self.engine = engine }

    public func shardMap(stream: String) throws -> ShardMap { try engine.catalog.shardMap(stream: stream) }
    public func shardMapVersion(stream: String) throws -> UInt64 { try engine.catalog.shardMapVersion(stream: stream) }
    public func highWater(stream: String, shardIndex: Int, sinceMillis: Int64, producers: Set<UInt64>) throws -> [UInt64: UInt64] {
        try engine.reader.originHighWater(stream: stream, shardIndex: shardIndex, sinceMillis: sinceMillis, producers: producers)
    }
    public func storedOrigins(stream: String, shardIndex: Int, andLaterShards: Bool, sinceMillis: Int64, among wanted: Set<RecordOrigin>) throws -> Set<RecordOrigin> {
        try engine.reader.storedOrigins(stream: stream, shardIndex: shardIndex, andLaterShards: andLaterShards, sinceMillis: sinceMillis, among: wanted)
    }
    public func recentArrivals(stream: String, shardIndex: Int) -> RecentArrivals { engine.reader.recentArrivals(stream: stream, shardIndex: shardIndex) }
    public func put(stream: String, records: [PutRecordInput], routedTo route: ShardRoute?) async throws -> [SinkOutcome] {
        try await engine.writer.ingest(stream: stream, records: records, routedTo: route).map {
            switch $0 {
            case .stored: .stored
            case .failed(let error): .failed(error)
            }
        }
    }
}
