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

    public var segments = 0
    public var frames = 0
    public var tornTails: [TornTail] = []
    public var quarantined: [Quarantine] = []

    public init() {}
}
