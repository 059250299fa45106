import SluiceEngine
/// What `GET /status` returns and `sluice status` prints: the gateway's figures now.
public struct GatewayStatus: Codable, Sendable {
    public struct Shard: Codable, Sendable {
        public var shardId: String
        public var open: Bool
        /// Records and bytes stored per second, averaged over the last 10 seconds.
        public var recordsPerSecond: Double
        public var bytesPerSecond: Double
        /// Records waiting in the spool, and the bytes its files take.
        public var spoolRecords: UInt64
        public var spoolBytes: Int64
        public var directRecords: UInt64
        public var spooledRecords: UInt64
        public var drainedRecords: UInt64
        public var droppedRecords: UInt64
        public var sinkFailures: UInt64
        /// Records a restarted source (or a spool after a crash) sent again and this shard
        /// already held: skipped by their origin, not stored twice.
        public var repeatsSkipped: UInt64?
    }

    public struct Stream: Codable, Sendable {
        public var name: String
        public var shards: [Shard]
        public var hotKeys: [String]
        public var distinctKeys: Int
    }

    public struct Spool: Codable, Sendable {
        public var usedBytes: Int64
        public var maxBytes: Int64
        public var onFull: String
        public var droppedRecords: UInt64
    }

    public struct TailedFile: Codable, Sendable {
        public var path: String
        /// Bytes read and made durable (the checkpoint), and the file's size now.
        public var checkpoint: Int64
        public var size: Int64
        /// Bytes written to the file and not yet durable in Sluice.
        public var lagBytes: Int64 { max(0, size - checkpoint) }

        public init(path: String, checkpoint: Int64, size: Int64) {
            self.path = path
            self.checkpoint = checkpoint
            self.size = size
        }

        enum CodingKeys: String, CodingKey { case path, checkpoint, size, lagBytes }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decode(String.self, forKey: .path)
            checkpoint = try c.decode(Int64.self, forKey: .checkpoint)
            size = try c.decode(Int64.self, forKey: .size)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path, forKey: .path)
            try c.encode(checkpoint, forKey: .checkpoint)
            try c.encode(size, forKey: .size)
            try c.encode(lagBytes, forKey: .lagBytes)
        }
    }

    public struct Source: Codable, Sendable {
        public var name: String
        public var kind: String
        public var stream: String
        public var records: UInt64
        public var parseErrors: UInt64
        public var truncated: UInt64
        /// Records read and left out (oversize MQTT payloads under `on_oversize = "drop"`).
        public var dropped: UInt64
        /// Records that got the fallback partition key (the template had no value).
        public var keyFallbacks: UInt64
        /// File sources: the files tailed.
        public var files: [TailedFile]
        /// MQTT sources: the broker connection.
        public var connection: Connection?
        public var lagBytes: Int64 { files.reduce(0) { $0 + $1.lagBytes } }

        public init(
            name: String, kind: String, stream: String, records: UInt64, parseErrors: UInt64, truncated: UInt64, dropped: UInt64,
            keyFallbacks: UInt64, files: [TailedFile] = [], connection: Connection? = nil
        ) {
            self.name = name
            self.kind = kind
            self.stream = stream
            self.records = records
            self.parseErrors = parseErrors
            self.truncated = truncated
            self.dropped = dropped
            self.keyFallbacks = keyFallbacks
            self.files = files
            self.connection = connection
        }
    }

    /// An MQTT source's broker connection.
    public struct Connection: Codable, Sendable {
        public var broker: String
        public var clientId: String
        /// "connected", "connecting" or "disconnected".
        public var state: String
        /// Successful connections since start (1 + reconnects).
        public var connects: UInt64
        /// Whether the broker had kept our session at the last connect.
        public var sessionPresent: Bool
        /// Whether the broker acknowledged this connection's subscriptions (SUBACK):
        /// messages published from then on are delivered.
        public var subscribed: Bool
        /// Messages received and not yet durable (bounded by max_in_flight_messages).
        public var inFlightMessages: Int
        public var lastError: String?

        public init(
            broker: String, clientId: String, state: String, connects: UInt64, sessionPresent: Bool, subscribed: Bool, inFlightMessages: Int, lastError: String?
        ) {
            self.subscribed = subscribed
            self.broker = broker
            self.clientId = clientId
            self.state = state
            self.connects = connects
            self.sessionPresent = sessionPresent
            self.inFlightMessages = inFlightMessages
            self.lastError = lastError
        }
    }

    public var streams: [Stream]
    public var spool: Spool
    public var sources: [Source]
    /// Each local stream's size on disk, its bound and what the bound did.
    public var storage: [StreamStorageStatus]?
    /// Each export's position, lag and deliveries.
    public var exports: [ExportStatus]?
    public var functions: [FunctionStatus]?

    public init(streams: [Stream], spool: Spool, sources: [Source], storage: [StreamStorageStatus]? = nil, exports: [ExportStatus]? = nil, functions: [FunctionStatus]? = nil) {
        self.streams = streams
        self.spool = spool
        self.sources = sources
        self.storage = storage
        self.exports = exports
        self.functions = functions
    }
}
