import Crypto
import FoundationEssentials

/// The body of a frame: one append's records with consecutive offsets (FORMAT.md, "Body").
public enum RecordBatch {
    public static let plainKind: UInt8 = 1
    public static let sealedKind: UInt8 = 2
    /// Where the header's fields are: kind (1), first offset (8), count (4), first and
    /// last arrival time (8 each).
    static let firstOffsetAt = 1
    static let countAt = firstOffsetAt + 8
    static let firstTimeAt = countAt + 4
    static let lastTimeAt = firstTimeAt + 8
    public static let headerSize = lastTimeAt + 8
    /// Per-record overhead: arrival time (8), key length (2), data length (4).
    public static let recordOverhead = 8 + 2 + 4
    /// AES-GCM's nonce and tag around a sealed batch's records.
    static let nonceSize = 12
    static let tagSize = 16
    /// What sealing adds to a batch: nonce and tag.
    public static let sealOverhead = nonceSize + tagSize

    /// Records grouped by arrival time, in offset order: what one frame holds.
    public typealias Entries = [(timestamp: Int64, records: [LogRecord])]

    /// The clear part of every batch: enough to index and expire without reading records.
    public struct Summary: Sendable, Equatable {
        public var kind: UInt8
        public var firstOffset: UInt64
        public var count: UInt32
        public var firstTimestamp: Int64
        public var lastTimestamp: Int64

        public var endOffset: UInt64 { firstOffset + UInt64(count) }
    }

    /// Appends a complete plain frame holding `entries` to `buffer`.
    public static func appendFrame(to buffer: inout [UInt8], entries: Entries, firstOffset: UInt64) {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: Frame.headerSize))
        appendHeader(to: &buffer, kind: plainKind, firstOffset: firstOffset, entries: entries)
        for entry in entries { appendRecords(entry.records, timestamp: entry.timestamp, to: &buffer) }
        Frame.seal(&buffer, headerAt: start)
    }

    /// Appends a frame whose records are sealed with AES-256-GCM under `dataKey`, bound to
    /// the segment (`context`) and to the frame's position in it (`position`, where the
    /// frame header will start in the file). `scratch` is reused between calls.
    public static func appendSealedFrame(
        to buffer: inout [UInt8], entries: Entries, firstOffset: UInt64,
        dataKey: SymmetricKey, context: SegmentContext, position: Int64, scratch: inout [UInt8]
    ) throws {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: Frame.headerSize))
        let headerStart = buffer.count
        appendHeader(to: &buffer, kind: sealedKind, firstOffset: firstOffset, entries: entries)
        scratch.removeAll(keepingCapacity: true)
        for entry in entries { appendRecords(entry.records, timestamp: entry.timestamp, to: &scratch) }
        let aad = buffer.withUnsafeBytes { context.frameAAD(position: position, batchHeader: UnsafeRawBufferPointer(rebasing: $0[headerStart...])) }
        let box = try AES.GCM.seal(scratch, using: dataKey, authenticating: aad)
        // Through raw buffers: appending `Data` element by element costs more than the AES.
        box.nonce.withUnsafeBytes { buffer.append(contentsOf: $0) }
        box.ciphertext.withUnsafeBytes { buffer.append(contentsOf: $0) }
        box.tag.withUnsafeBytes { buffer.append(contentsOf: $0) }
        Frame.seal(&buffer, headerAt: start)
    }

    /// Opens a sealed batch body found at frame `position`: returns the records section.
    /// - Throws: `StorageError.corrupt` ("authentication failed") when any byte of the
    ///   body, or its place, differs from what was sealed.
    public static func open(_ body: UnsafeRawBufferPointer, dataKey: SymmetricKey, context: SegmentContext, position: Int64) throws -> [UInt8] {
        guard body.count >= headerSize + sealOverhead else { throw StorageError(.corrupt, "sealed batch too short") }
        let aad = context.frameAAD(position: position, batchHeader: UnsafeRawBufferPointer(rebasing: body[0..<headerSize]))
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: UnsafeRawBufferPointer(rebasing: body[headerSize..<headerSize + nonceSize])),
                ciphertext: UnsafeRawBufferPointer(rebasing: body[(headerSize + nonceSize)..<(body.count - tagSize)]),
                tag: UnsafeRawBufferPointer(rebasing: body[(body.count - tagSize)...])
            )
            return Array(try AES.GCM.open(box, using: dataKey, authenticating: aad))
        } catch {
            throw StorageError(.corrupt, "sealed frame authentication failed (altered, moved or replayed ciphertext)")
        }
    }

    private static func appendHeader(to buffer: inout [UInt8], kind: UInt8, firstOffset: UInt64, entries: Entries) {
        buffer.append(kind)
        buffer.appendLE(firstOffset)
        buffer.appendLE(UInt32(entries.reduce(0) { $0 + $1.records.count }))
        buffer.appendLE(entries.first!.timestamp)
        buffer.appendLE(entries.last!.timestamp)
    }

    /// Set in a record's key-length field when an origin (producer, sequence: 16 bytes)
    /// follows its data length. Keys are at most 256 bytes, so the bit is free.
    static let originFlag: UInt16 = 0x8000
    /// Set when an explicit hash key follows (after the origin, if any): its length (1
    /// byte, 1–39) and its decimal digits. Only the spool writes it.
    static let explicitHashKeyFlag: UInt16 = 0x4000
    /// The longest decimal hash key: 2^128 − 1 has 39 digits.
    static let maxExplicitHashKeyDigits = 39

    /// The explicit hash key as a frame keeps it: 1–39 decimal digits, or none (anything
    /// else is left out rather than written where it would make the frame unreadable).
    static func encodable(_ hashKey: String?) -> String? {
        guard let hashKey, (1...maxExplicitHashKeyDigits).contains(hashKey.utf8.count),
              hashKey.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return hashKey
    }

    private static func appendRecords(_ records: [LogRecord], timestamp: Int64, to buffer: inout [UInt8]) {
        for record in records {
            buffer.appendLE(timestamp)
            var keyField = UInt16(record.partitionKey.utf8.count)
            if record.origin != nil { keyField |= originFlag }
            let hashKey = encodable(record.explicitHashKey)
            if hashKey != nil { keyField |= explicitHashKeyFlag }
            buffer.appendLE(keyField)
            buffer.appendLE(UInt32(record.data.count))
            if let origin = record.origin {
                buffer.appendLE(origin.producer)
                buffer.appendLE(origin.sequence)
            }
            if let hashKey {
                buffer.append(UInt8(hashKey.utf8.count))
                buffer.append(contentsOf: hashKey.utf8)
            }
            buffer.append(contentsOf: record.partitionKey.utf8)
            buffer.append(contentsOf: record.data)
        }
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

    /// Decodes the records of a batch body in order. A sealed body needs `open`, which
    /// returns its records section (see `open(_:dataKey:context:position:)`).
    public static func forEachRecord(
        in body: UnsafeRawBufferPointer,
        open: ((UnsafeRawBufferPointer) throws -> [UInt8])? = nil,
        _ visit: (StoredRecord) throws -> Void
    ) throws {
        let summary = try self.summary(body)
        if summary.kind == plainKind {
            try parseRecords(UnsafeRawBufferPointer(rebasing: body[headerSize...]), summary, visit)
            return
        }
        guard let open else {
            throw StorageError(.keyUnavailable, "record batch is encrypted and no key was given to read it")
        }
        let section = try open(body)
        try section.withUnsafeBytes { try parseRecords($0, summary, visit) }
    }

    private static func parseRecords(
        _ section: UnsafeRawBufferPointer, _ summary: Summary, _ visit: (StoredRecord) throws -> Void
    ) throws {
        var reader = ByteReader(section)
        for k in 0..<UInt64(summary.count) {
            let timestamp = try reader.read(Int64.self)
            let keyField = try reader.read(UInt16.self)
            let keyLength = Int(keyField & ~(originFlag | explicitHashKeyFlag))
            let dataLength = Int(try reader.read(UInt32.self))
            var origin: RecordOrigin?
            if keyField & originFlag != 0 {
                origin = RecordOrigin(producer: try reader.read(UInt64.self), sequence: try reader.read(UInt64.self))
            }
            var explicitHashKey: String?
            if keyField & explicitHashKeyFlag != 0 {
                let length = Int(try reader.read(UInt8.self))
                let digits = try reader.readBytes(length)
                guard (1...maxExplicitHashKeyDigits).contains(length), digits.allSatisfy({ (0x30...0x39).contains($0) }) else {
                    throw StorageError(.corrupt, "record \(summary.firstOffset + k) has a malformed explicit hash key")
                }
                explicitHashKey = String(decoding: digits, as: UTF8.self)
            }
            let key = try reader.readBytes(keyLength)
            let data = try reader.readBytes(dataLength)
            try visit(StoredRecord(
                offset: summary.firstOffset + k,
                timestampMillis: timestamp,
                partitionKey: String(decoding: key, as: UTF8.self),
                data: Array(data),
                explicitHashKey: explicitHashKey,
                origin: origin
            ))
        }
        guard reader.remaining == 0 else { throw StorageError(.corrupt, "record batch has trailing bytes") }
    }
}
