/// Frame framing: `[length u32][crc32c u32][body]` (FORMAT.md, "Frame").
public enum Frame {
    public static let headerSize = 8
    /// Bodies larger than this are never written, so a larger length is damage, not data.
    public static let maxBodySize = 16 << 20

    /// Appends a frame header for the body that the caller has already appended at
    /// `bodyStart - headerSize ..< end`. The caller reserved 8 bytes at `bodyStart - 8`.
    @inlinable
    static func seal(_ buffer: inout [UInt8], headerAt start: Int) {
        let bodyLength = UInt32(buffer.count - start - headerSize)
        buffer.storeLE(bodyLength, at: start)
        let crc = buffer.withUnsafeBytes { raw -> UInt32 in
            let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[start..<start + 4]))
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + headerSize)...]), continuing: lengthCRC)
        }
        buffer.storeLE(crc, at: start + 4)
    }

    /// What a scan finds at one position of a segment.
    public enum Scan: Equatable {
        /// A frame whose CRC matches: body at `bodyRange`, next frame at `next`.
        case valid(bodyRange: Range<Int>, next: Int)
        /// Not enough bytes for a header, or a length that runs past the end of the data.
        case truncated
        /// A frame that fits but is wrong (bad length, zero length, CRC mismatch).
        case damaged(reason: String, end: Int?)
    }

    /// Checks the frame at `position` in `bytes` (which must contain the rest of the file
    /// or at least the whole frame).
    public static func scan(_ bytes: UnsafeRawBufferPointer, at position: Int) -> Scan {
        let left = bytes.count - position
        guard left >= headerSize else { return .truncated }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 4, as: UInt32.self))
        if length == 0 { return .damaged(reason: "zero frame length", end: nil) }
        if length > maxBodySize { return .damaged(reason: "frame length \(length) exceeds \(maxBodySize)", end: nil) }
        guard left >= headerSize + length else { return .truncated }
        let bodyStart = position + headerSize
        let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[position..<position + 4]))
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[bodyStart..<bodyStart + length]), continuing: lengthCRC)
        guard crc == stored else {
            return .damaged(reason: "CRC mismatch", end: bodyStart + length)
        }
        return .valid(bodyRange: bodyStart..<bodyStart + length, next: bodyStart + length)
    }
}
