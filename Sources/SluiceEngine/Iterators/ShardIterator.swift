import Crypto
import FoundationEssentials

/// A position in a shard, handed to clients as an opaque, tamper-evident token.
///
/// The token is base64 of the position and an HMAC-SHA256 tag (truncated to 128 bits)
/// under the engine's iterator key, so a client can neither forge nor edit one, and it
/// carries its issue time, so it expires after five minutes as Kinesis iterators do.
public struct ShardIterator: Sendable, Equatable {
    public var streamName: String
    /// The stream's creation time: an iterator does not outlive a deleted stream that was
    /// re-created under the same name.
    public var streamCreatedAt: Int64
    public var shardIndex: Int
    public var offset: UInt64
    public var issuedAt: Int64

    static let version: UInt8 = 1
    static let tagSize = 16

    /// Encodes and signs the iterator.
    public func token(key: SymmetricKey) -> String {
        var bytes: [UInt8] = [Self.version]
        bytes.append(contentsOf: withUnsafeBytes(of: streamCreatedAt.littleEndian, Array.init))
        bytes.append(contentsOf: withUnsafeBytes(of: UInt32(shardIndex).littleEndian, Array.init))
        bytes.append(contentsOf: withUnsafeBytes(of: offset.littleEndian, Array.init))
        bytes.append(contentsOf: withUnsafeBytes(of: issuedAt.littleEndian, Array.init))
        bytes.append(contentsOf: streamName.utf8)
        let tag = HMAC<SHA256>.authenticationCode(for: bytes, using: key)
        bytes.append(contentsOf: tag.prefix(Self.tagSize))
        return Data(bytes).base64EncodedString()
    }

    /// Decodes a token and checks its tag; nil for anything that was not issued by this
    /// engine's key, unchanged.
    public static func decode(_ token: String, key: SymmetricKey) -> ShardIterator? {
        guard token.count <= 512, let data = Data(base64Encoded: token) else { return nil }
        let bytes = [UInt8](data)
        let fixed = 1 + 8 + 4 + 8 + 8
        guard bytes.count > fixed + tagSize, bytes[0] == version else { return nil }
        let body = Array(bytes[..<(bytes.count - tagSize)])
        let tag = Array(bytes[(bytes.count - tagSize)...])
        let expected = Array(HMAC<SHA256>.authenticationCode(for: body, using: key).prefix(tagSize))
        // Constant-time comparison: the tag must not leak through timing.
        guard zip(tag, expected).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
        func load<T: FixedWidthInteger>(_: T.Type, at index: Int) -> T {
            body[index..<index + MemoryLayout<T>.size].withUnsafeBytes { T(littleEndian: $0.loadUnaligned(as: T.self)) }
        }
        return ShardIterator(
            streamName: String(decoding: body[fixed...], as: UTF8.self),
            streamCreatedAt: load(Int64.self, at: 1),
            shardIndex: Int(load(UInt32.self, at: 9)),
            offset: load(UInt64.self, at: 13),
            issuedAt: load(Int64.self, at: 21)
        )
    }
}

/// The five ways to start reading a shard.
public enum IteratorStart: Sendable, Equatable {
    case trimHorizon
    case latest
    case atSequenceNumber(String)
    case afterSequenceNumber(String)
    case atTimestamp(millis: Int64)
}
