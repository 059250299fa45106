import SluiceStorage

/// One record as a producer sends it: the same type from a source through the gateway,
/// its spool and the engine to the log (`LogRecord`), so no step converts it.
public typealias PutRecordInput = LogRecord

/// Where an in-process producer (the gateway) already routed a batch: one open shard of
/// the stream's shard map of `mapVersion` (`ShardMap.version`). The engine appends there
/// without hashing the keys again while that map is current, and routes them itself when
/// it is not.
public struct ShardRoute: Sendable, Equatable {
    public var index: Int
    public var mapVersion: UInt64

    public init(index: Int, mapVersion: UInt64) {
        self.index = index
        self.mapVersion = mapVersion
    }
}

/// What happened to one record of a put.
/// `stored` carries the sequence number as a value: the HTTP layer formats it (and the
/// shard id within it) for the wire; in-process producers that do not need it pay nothing.
public enum PutRecordOutcome: Sendable, Equatable {
    case stored(SequenceNumber)
    case failed(EngineError)
}

