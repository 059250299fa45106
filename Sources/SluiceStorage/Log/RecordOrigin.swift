/// Where a record came from, for a producer that must not store a record twice: a file
/// source's file (`producer`) and the record's end offset in it (`sequence`). Kept in the
/// log beside the record (FORMAT.md, "Body"), never served to readers; a restarted
/// source asks each shard for the highest sequence it holds per producer and skips what
/// is already there (Kafka's idempotent producer, per shard).
public struct RecordOrigin: Sendable, Hashable {
    public var producer: UInt64
    public var sequence: UInt64

    public init(producer: UInt64, sequence: UInt64) {
        self.producer = producer
        self.sequence = sequence
    }

    /// Bytes an origin adds to a record in a frame.
    public static let encodedSize = 16
}
