/// What the log gave an acknowledged append: consecutive offsets and one arrival time.
public struct AppendResult: Sendable, Equatable {
    public var firstOffset: UInt64
    public var count: Int
    public var timestampMillis: Int64

    public var offsets: Range<UInt64> { firstOffset..<firstOffset + UInt64(count) }
}

/// Records read from the log and where the next read continues.
public struct ReadResult: Sendable {
    public var records: [StoredRecord]
    /// The offset to read from next time: one past the last record returned, or the end
    /// of the log when everything up to it was read.
    public var nextOffset: UInt64
    /// The end of the log when the read began (one past the newest committed offset).
    public var endOffset: UInt64

    public init(records: [StoredRecord], nextOffset: UInt64, endOffset: UInt64) {
        self.records = records
        self.nextOffset = nextOffset
        self.endOffset = endOffset
    }
}
