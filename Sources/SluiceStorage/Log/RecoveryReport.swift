/// What recovery found and did in one shard's directory; logged, counted, shown by verify.
public struct RecoveryReport: Sendable, Equatable {
    /// A torn tail that was cut: `bytes` from `position` on, kept in `brokenFile`.
    public struct TornTail: Sendable, Equatable {
        public var file: String
        public var position: Int64
        public var bytes: Int64
        public var brokenFile: String
    }

    /// A segment set aside because it is corrupt at `position`.
    public struct Quarantine: Sendable, Equatable {
        public var file: String
        public var position: Int64
        public var reason: String
        public var quarantinedAs: String
    }

    /// A segment damaged inside: its frames before the damage kept in place, the valid
    /// frames after it moved to `salvagedSegments`, the damaged bytes kept in
    /// `damagedBytesIn`; `lostRecords` offsets were in the first damaged range.
    public struct Salvage: Sendable, Equatable {
        public var file: String
        public var position: Int64
        public var reason: String
        /// [start, end) byte ranges of the original file.
        public var damagedRanges: [[Int64]]
        public var salvagedSegments: [String]
        public var lostRecords: UInt64
        public var damagedBytesIn: String
    }

    public var segments = 0
    public var frames = 0
    public var tornTails: [TornTail] = []
    public var quarantined: [Quarantine] = []
    public var salvaged: [Salvage] = []

    public init() {}
}
