/// How a shard log writes: when it rolls segments and when it fsyncs.
public struct LogOptions: Sendable, Equatable {
    /// When an append is acknowledged.
    public enum SyncPolicy: Sendable, Equatable {
        /// After write and fsync (group commit across concurrent appends). The default.
        case always
        /// After write only; the owner calls `ShardLog.sync()` on a timer. A power loss can
        /// lose what was acknowledged since the last sync; a process crash cannot.
        case periodic
    }

    /// A segment rolls once it would grow beyond this many bytes.
    public var segmentMaxBytes: Int64
    /// A segment rolls on the first append after it is this old, so retention can free
    /// space in bounded steps even on a slow stream.
    public var segmentMaxAgeMillis: Int64
    public var sync: SyncPolicy
    /// One sparse index entry per this many bytes of frames (in the segment taking appends).
    public var indexIntervalBytes: Int64
    /// The same for segments that take no more appends: coarser, so the memory the index
    /// of retained data takes stays small (see `SegmentInfo.thin(to:)`).
    public var closedIndexIntervalBytes: Int64 = 1 << 20

    public init(
        segmentMaxBytes: Int64 = 128 << 20,
        segmentMaxAgeMillis: Int64 = 3_600_000,
        sync: SyncPolicy = .always,
        indexIntervalBytes: Int64 = 64 << 10
    ) {
        self.segmentMaxBytes = segmentMaxBytes
        self.segmentMaxAgeMillis = segmentMaxAgeMillis
        self.sync = sync
        self.indexIntervalBytes = indexIntervalBytes
    }
}
