/// The body of a frame: one append's records with consecutive offsets (FORMAT.md, "Body").
public enum RecordBatch {
    public static let plainKind: UInt8 = 1
    public static let sealedKind: UInt8 = 2
    /// kind + first offset + count + first and last arrival time.
    public static let headerSize = 29
    /// Per-record overhead: arrival time, key length, data length.
    public static let recordOverhead = 14

    /// The clear part of every batch: enough to index and expire without reading records.
    public struct Summary: Sendable, Equatable {
        public var kind: UInt8
        public var firstOffset: UInt64
        public var count: UInt32
        public var firstTimestamp: Int64
        public var lastTimestamp: Int64

        public var endOffset: UInt64 { firstOffset + UInt64(count) }
    }

    /// Appends a complete frame (header and body) holding `records` to `buffer`.
    /// All records share `timestamp` as their arrival time.
    public static func appendFrame(
        to buffer: inout [UInt8], records: [LogRecord], firstOffset: UInt64, timestamp: Int64
    ) {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: Frame.headerSize))
        buffer.append(plainKind)
        buffer.appendLE(firstOffset)
        buffer.appendLE(UInt32(records.count))
        buffer.appendLE(timestamp)
        buffer.appendLE(timestamp)
        for record in records {
            buffer.appendLE(timestamp)
            buffer.appendLE(UInt16(record.partitionKey.utf8.count))
            buffer.appendLE(UInt32(record.data.count))
            buffer.append(contentsOf: record.partitionKey.utf8)
            buffer.append(contentsOf: record.data)
        }
        Frame.seal(&buffer, headerAt: start)
    }

    /// Reads the clear summary of a batch body.
    public static func summary(_ body: UnsafeRawBufferPointer) throws -> Summary {
        var reader = ByteReader(body)
        let kind = try reader.read(UInt8.self)
        guard kind == plainKind || kind == sealedKind else {
            throw StorageError(.corrupt, "unknown batch kind \(kind)")
        }
        let summary = Summary(
            kind: kind,
            firstOffset: try reader.read(UInt64.self),
            count: try reader.read(UInt32.self),
            firstTimestamp: try reader.read(Int64.self),
            lastTimestamp: try reader.read(Int64.self)
        )
        guard summary.count > 0 else { throw StorageError(.corrupt, "empty record batch") }
        guard summary.firstTimestamp <= summary.lastTimestamp else {
            throw StorageError(.corrupt, "record batch times run backwards")
        }
        return summary
    }

    /// Decodes the records of a plain batch body, calling `body` for each one in order.
    public static func forEachRecord(
        in body: UnsafeRawBufferPointer, _ visit: (StoredRecord) throws -> Void
    ) throws {
        let summary = try self.summary(body)
        guard summary.kind == plainKind else {
            throw StorageError(.unavailable, "record batch is encrypted and no key was given to read it")
        }
        var reader = ByteReader(body, at: headerSize)
        for k in 0..<UInt64(summary.count) {
            let timestamp = try reader.read(Int64.self)
            let keyLength = Int(try reader.read(UInt16.self))
            let dataLength = Int(try reader.read(UInt32.self))
            let key = try reader.readBytes(keyLength)
            let data = try reader.readBytes(dataLength)
            try visit(StoredRecord(
                offset: summary.firstOffset + k,
                timestampMillis: timestamp,
                partitionKey: String(decoding: key, as: UTF8.self),
                data: Array(data)
            ))
        }
        guard reader.remaining == 0 else { throw StorageError(.corrupt, "record batch has trailing bytes") }
    }
}
