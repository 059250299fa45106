/// Little-endian encoding into a growing byte array: the only way bytes get onto disk.
extension Array where Element == UInt8 {
    @inlinable mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// Overwrites `T.bitWidth / 8` bytes at `index` (for lengths and CRCs known only later).
    @inlinable mutating func storeLE<T: FixedWidthInteger>(_ value: T, at index: Int) {
        Swift.withUnsafeBytes(of: value.littleEndian) { raw in
            for (k, byte) in raw.enumerated() { self[index + k] = byte }
        }
    }
}

/// Little-endian decoding with bounds checks: malformed input throws, it never traps.
public struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    public private(set) var position: Int

    public init(_ bytes: UnsafeRawBufferPointer, at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var remaining: Int { bytes.count - position }

    public mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw StorageError(.corrupt, "unexpected end of data") }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += size
        return value
    }

    /// A view of the next `count` bytes, valid as long as the underlying buffer.
    public mutating func readBytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw StorageError(.corrupt, "unexpected end of data") }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
        position += count
        return slice
    }
}
