/// Frame framing: `[length u32][crc32c u32][body]` (FORMAT.md, "Frame").
public enum Frame {
    /// The header: body length (4), then the CRC (4) of the length and the body.
    @usableFromInline static let crcAt = 4
    public static let headerSize = crcAt + 4
    /// Bodies larger than this are never written, so a larger length is damage, not data.
    public static let maxBodySize = 16 << 20

    /// Fills in the 8-byte header the caller reserved at `start`, for the body that runs
    /// from `start + headerSize` to the end of `buffer`.
    @inlinable
    static func seal(_ buffer: inout [UInt8], headerAt start: Int) {
        let bodyLength = UInt32(buffer.count - start - headerSize)
        buffer.storeLE(bodyLength, at: start)
        let crc = buffer.withUnsafeBytes { raw -> UInt32 in
            let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[start..<start + crcAt]))
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + headerSize)...]), continuing: lengthCRC)
        }
        buffer.storeLE(crc, at: start + crcAt)
    }

    /// Whether a whole frame (header and body, exactly) carries the CRC it was written
    /// with. Length checks (zero, too large, past the end) are the reader's: a frame that
    /// reaches this far fits in the bytes given.
    public static func crcMatches(_ frame: UnsafeRawBufferPointer) -> Bool {
        let stored = UInt32(littleEndian: frame.loadUnaligned(fromByteOffset: crcAt, as: UInt32.self))
        let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frame[0..<crcAt]))
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frame[headerSize...]), continuing: lengthCRC) == stored
    }
}
