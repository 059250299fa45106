import Crypto

/// One segment file: its name, header and open file. Immutable; what changes as frames
/// are committed lives in `SegmentInfo`.
public final class Segment: Sendable {
    public let baseOffset: UInt64
    public let path: String
    public let header: SegmentHeader
    let file: any RandomAccessFile
    /// What the segment's ciphertext is bound to.
    public let context: SegmentContext
    /// The unwrapped data key of an encrypted segment (never written anywhere in clear).
    let dataKey: SymmetricKey?

    init(baseOffset: UInt64, path: String, header: SegmentHeader, file: any RandomAccessFile, dataKey: SymmetricKey? = nil) {
        self.baseOffset = baseOffset
        self.path = path
        self.header = header
        self.file = file
        self.dataKey = dataKey
        self.context = SegmentContext(label: SegmentContext.label(forShardDirectory: FileSystemPath.parent(path)), baseOffset: baseOffset)
    }

    /// Calls `visit` for each record of a batch body found at `position` in this segment,
    /// opening it first when it is sealed.
    func forEachRecord(in body: UnsafeRawBufferPointer, at position: Int64, _ visit: (StoredRecord) throws -> Void) throws {
        try RecordBatch.forEachRecord(in: body, open: dataKey.map { key in
            { try RecordBatch.open($0, dataKey: key, context: self.context, position: position) }
        }, visit)
    }

    public var headerSize: Int64 { Int64(header.encodedSize) }

    /// `00000000000000000042.seg`: fixed width so that `ls` sorts segments by offset.
    public static func fileName(baseOffset: UInt64) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".seg"
    }

    /// The base offset a segment file name stands for, or nil when it is not a segment name.
    public static func baseOffset(fileName: String) -> UInt64? {
        guard fileName.hasSuffix(".seg"), fileName.count == 24 else { return nil }
        return UInt64(fileName.dropLast(4))
    }
}

/// A sparse index entry: the frame at `position` starts with `firstOffset`.
public struct IndexEntry: Sendable, Equatable {
    public var firstOffset: UInt64
    public var position: Int64
    public var firstTimestamp: Int64
}

/// What is committed (durable and readable) in one segment, and its sparse index.
/// A value: readers take a copy and read without holding the log's lock.
public struct SegmentInfo: Sendable {
    public let segment: Segment
    /// Bytes committed, header included; readers never look past this.
    public var size: Int64
    /// First offset actually stored (≥ the base offset); equals `endOffset` when empty.
    public var firstOffset: UInt64
    /// One past the last offset stored.
    public var endOffset: UInt64
    public var firstTimestamp: Int64?
    public var lastTimestamp: Int64?
    public var index: [IndexEntry] = []
    var lastIndexedPosition: Int64 = -1

    init(segment: Segment) {
        self.segment = segment
        size = segment.headerSize
        firstOffset = segment.baseOffset
        endOffset = segment.baseOffset
    }

    public var isEmpty: Bool { endOffset == firstOffset }
    public var recordCount: UInt64 { endOffset - firstOffset }

    /// Records a committed frame: extends the offsets and times, adds an index entry when
    /// the last one is far enough back.
    mutating func add(_ summary: RecordBatch.Summary, at position: Int64, frameSize: Int64, indexInterval: Int64) {
        if isEmpty {
            firstOffset = summary.firstOffset
            firstTimestamp = summary.firstTimestamp
        }
        endOffset = summary.endOffset
        lastTimestamp = summary.lastTimestamp
        if index.isEmpty || position - lastIndexedPosition >= indexInterval {
            index.append(IndexEntry(firstOffset: summary.firstOffset, position: position, firstTimestamp: summary.firstTimestamp))
            lastIndexedPosition = position
        }
        size = position + frameSize
    }

    /// Keeps index entries at least `interval` bytes apart. A segment that takes no more
    /// appends needs no fine index: a read into it scans at most `interval` bytes more,
    /// and the index of every retained byte is what grew without bound under sustained
    /// load (0.04 % of the bytes stored at 64 KiB; 16 times less at 1 MiB).
    mutating func thin(to interval: Int64) {
        var kept: [IndexEntry] = []
        var last: Int64 = -1
        for entry in index where kept.isEmpty || entry.position - last >= interval {
            kept.append(entry)
            last = entry.position
        }
        var exact: [IndexEntry] = []
        exact.reserveCapacity(kept.count)
        exact.append(contentsOf: kept)
        index = exact
        lastIndexedPosition = last
    }

    /// Where to start scanning for `offset`: the last indexed frame at or before it.
    func scanStart(forOffset offset: UInt64) -> Int64 {
        var low = 0, high = index.count
        while low < high {
            let mid = (low + high) / 2
            if index[mid].firstOffset <= offset { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? segment.headerSize : index[low - 1].position
    }

    /// Where to start scanning for the first record at or after `timestamp`.
    func scanStart(forTimestamp timestamp: Int64) -> Int64 {
        var low = 0, high = index.count
        while low < high {
            let mid = (low + high) / 2
            if index[mid].firstTimestamp < timestamp { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? segment.headerSize : index[low - 1].position
    }
}
