/// The header at the start of every segment file (FORMAT.md, "Header").
public struct SegmentHeader: Sendable, Equatable {
    public static let magic: [UInt8] = Array("SLUICESG".utf8)
    public static let version: UInt16 = 1
    /// Fixed part before the envelope, CRC excluded.
    static let fixedSize = 34
    static let encryptedFlag: UInt16 = 1

    public var baseOffset: UInt64
    public var createdAtMillis: Int64
    /// Wrapped data key and master-key reference; empty when frames are not sealed.
    public var envelope: [UInt8]

    public var isEncrypted: Bool { !envelope.isEmpty }

    public init(baseOffset: UInt64, createdAtMillis: Int64, envelope: [UInt8] = []) {
        self.baseOffset = baseOffset
        self.createdAtMillis = createdAtMillis
        self.envelope = envelope
    }

    /// Total encoded length, CRC included.
    public var encodedSize: Int { Self.fixedSize + envelope.count + 4 }

    public func encode() -> [UInt8] {
        var out = Self.magic
        out.reserveCapacity(encodedSize)
        out.appendLE(Self.version)
        out.appendLE(isEncrypted ? Self.encryptedFlag : 0)
        out.appendLE(UInt32(encodedSize))
        out.appendLE(baseOffset)
        out.appendLE(createdAtMillis)
        out.appendLE(UInt16(envelope.count))
        out.append(contentsOf: envelope)
        out.appendLE(CRC32C.checksum(out))
        return out
    }

    /// Decodes a header from the start of a segment file.
    /// - Throws: `StorageError.corrupt` naming the field that is wrong.
    public static func decode(_ bytes: [UInt8]) throws -> SegmentHeader {
        try bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            guard raw.count >= fixedSize + 4, Array(try reader.readBytes(8)) == magic else {
                throw StorageError(.corrupt, "not a Sluice segment (bad magic)")
            }
            let version = try reader.read(UInt16.self)
            guard version == Self.version else {
                throw StorageError(.corrupt, "segment format version \(version) is not supported (expected \(Self.version))")
            }
            let flags = try reader.read(UInt16.self)
            let length = Int(try reader.read(UInt32.self))
            guard length >= fixedSize + 4, length <= raw.count else {
                throw StorageError(.corrupt, "segment header length \(length) is out of range")
            }
            let base = try reader.read(UInt64.self)
            let created = try reader.read(Int64.self)
            let envelopeLength = Int(try reader.read(UInt16.self))
            guard fixedSize + envelopeLength + 4 == length else {
                throw StorageError(.corrupt, "segment header envelope length does not match header length")
            }
            let envelope = Array(try reader.readBytes(envelopeLength))
            let stored = try reader.read(UInt32.self)
            let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<(length - 4)]))
            guard stored == computed else { throw StorageError(.corrupt, "segment header CRC mismatch") }
            guard (flags & encryptedFlag != 0) == !envelope.isEmpty else {
                throw StorageError(.corrupt, "segment header encryption flag disagrees with its envelope")
            }
            return SegmentHeader(baseOffset: base, createdAtMillis: created, envelope: envelope)
        }
    }
}
