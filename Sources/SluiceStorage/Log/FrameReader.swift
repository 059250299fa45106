/// Reads the frames of a segment in order through a reusable buffer, verifying each CRC.
///
/// Used by recovery (to the end of the file), by reads (to the committed size) and by
/// `sluice verify`. It reads ahead in large chunks so a scan runs at disk speed.
public struct FrameReader {
    /// What the reader found at `position`.
    public enum Step {
        case frame(position: Int64, size: Int64)
        case end
        /// The bytes from `position` to the limit are not a whole frame.
        case truncated(position: Int64)
        /// The frame at `position` is damaged; `end` is where it would have ended, when known.
        case damaged(position: Int64, reason: String, end: Int64?)
    }

    let file: any RandomAccessFile
    public private(set) var position: Int64
    let limit: Int64
    private var buffer: [UInt8] = []
    private var bufferStart: Int64 = 0
    private let chunkSize: Int

    public init(file: any RandomAccessFile, from position: Int64, limit: Int64, chunkSize: Int = 1 << 20) {
        self.file = file
        self.position = position
        self.limit = limit
        self.chunkSize = chunkSize
    }

    /// Makes sure bytes [position, position + count) are in the buffer (count ≤ what is left).
    private mutating func ensure(_ count: Int) throws {
        let have = bufferStart + Int64(buffer.count)
        if position >= bufferStart && position + Int64(count) <= have { return }
        let want = Int(min(Int64(max(count, chunkSize)), limit - position))
        buffer = try file.read(count: want, at: position)
        bufferStart = position
        if buffer.count < count {
            throw StorageError(.corrupt, "\(file.path) is shorter than expected at byte \(position + Int64(buffer.count))")
        }
    }

    /// Moves to the next frame and calls `visit` with its body when it is valid.
    public mutating func next(_ visit: (_ position: Int64, _ body: UnsafeRawBufferPointer) throws -> Void) throws -> Step {
        let left = limit - position
        if left == 0 { return .end }
        if left < Int64(Frame.headerSize) { return .truncated(position: position) }
        try ensure(Frame.headerSize)
        let at = Int(position - bufferStart)
        let length = buffer.withUnsafeBytes {
            Int64(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        }
        if length == 0 { return .damaged(position: position, reason: "zero frame length", end: nil) }
        let frameSize = Int64(Frame.headerSize) + length
        // A length past the end is an unfinished write whatever its value (etcd's rule).
        if frameSize > left { return .truncated(position: position) }
        if length > Int64(Frame.maxBodySize) {
            return .damaged(position: position, reason: "frame length \(length) exceeds the maximum", end: nil)
        }
        try ensure(Int(frameSize))
        let start = Int(position - bufferStart)
        let framePosition = position
        let intact = buffer.withUnsafeBytes { raw in
            Frame.crcMatches(UnsafeRawBufferPointer(rebasing: raw[start..<start + Int(frameSize)]))
        }
        guard intact else {
            return .damaged(position: framePosition, reason: "CRC mismatch", end: framePosition + frameSize)
        }
        try buffer.withUnsafeBytes { raw in
            try visit(framePosition, UnsafeRawBufferPointer(rebasing: raw[(start + Frame.headerSize)..<(start + Int(frameSize))]))
        }
        position += frameSize
        return .frame(position: framePosition, size: frameSize)
    }

    /// True when every byte from `from` to the limit is zero (a preallocated or
    /// never-written tail, as a crash can leave behind).
    public func isZeroFilled(from: Int64) throws -> Bool {
        var at = from
        while at < limit {
            let chunk = try file.read(count: Int(min(Int64(chunkSize), limit - at)), at: at)
            if chunk.isEmpty { return true }
            if chunk.contains(where: { $0 != 0 }) { return false }
            at += Int64(chunk.count)
        }
        return true
    }
}
