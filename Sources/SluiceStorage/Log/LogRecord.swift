/// A record from its source to the log: the partition key and the data blob (both opaque
/// here), the producer's explicit hash key and, for file sources, its origin. The gateway,
/// its spool and the engine pass this one type along (the engine calls it
/// `PutRecordInput`); a record read back is a `StoredRecord`.
public struct LogRecord: Sendable, Equatable {
    public var partitionKey: String
    public var data: [UInt8]
    /// The hash key its producer chose (decimal), kept where a record waits to be routed
    /// again (the gateway's spool); the engine's own log does not keep it.
    public var explicitHashKey: String?
    /// Kept beside the record for deduplication; not part of its size against limits.
    public var origin: RecordOrigin?

    public init(partitionKey: String, data: [UInt8], explicitHashKey: String? = nil, origin: RecordOrigin? = nil) {
        self.partitionKey = partitionKey
        self.data = data
        self.explicitHashKey = explicitHashKey
        self.origin = origin
    }

    /// Bytes this record counts against size limits: key (UTF-8) plus data.
    public var size: Int { partitionKey.utf8.count + data.count }

    /// Bytes it takes in a frame beyond `size`.
    public var frameOverhead: Int {
        RecordBatch.recordOverhead + (origin == nil ? 0 : RecordOrigin.encodedSize) + (RecordBatch.encodable(explicitHashKey).map { 1 + $0.utf8.count } ?? 0)
    }
}

/// A record read back from the log, with the offset and arrival time the log gave it.
public struct StoredRecord: Sendable, Equatable {
    public var offset: UInt64
    public var timestampMillis: Int64
    public var partitionKey: String
    public var data: [UInt8]
    /// The producer's explicit hash key, where the log keeps it (the spool).
    public var explicitHashKey: String?
    /// Where it came from, when its producer said (file sources); never served.
    public var origin: RecordOrigin?

    public init(offset: UInt64, timestampMillis: Int64, partitionKey: String, data: [UInt8], explicitHashKey: String? = nil, origin: RecordOrigin? = nil) {
        self.offset = offset
        self.timestampMillis = timestampMillis
        self.partitionKey = partitionKey
        self.data = data
        self.explicitHashKey = explicitHashKey
        self.origin = origin
    }

    /// Bytes this record counts against size and rate limits: key (UTF-8) plus data.
    public var size: Int { partitionKey.utf8.count + data.count }

    /// The record as it was handed to the log (a spooled record going on to the engine,
    /// a salvaged one into a new segment).
    public var logRecord: LogRecord {
        LogRecord(partitionKey: partitionKey, data: data, explicitHashKey: explicitHashKey, origin: origin)
    }
}
