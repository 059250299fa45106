import Crypto

/// A segment's data key, wrapped under a master key (FORMAT.md, "Encryption at rest").
///
/// Encoded in the segment header as `[u16 id length][key id][u32 version][u16 wrapped
/// length][nonce 12 | ciphertext 32 | tag 16]`. The wrapping authenticates the segment it
/// belongs to (stream, shard, base offset), so a wrapped key cannot be moved to another.
public struct DataKeyEnvelope: Sendable, Equatable {
    public var keyId: String
    public var keyVersion: UInt32
    public var wrapped: [UInt8]

    /// A fresh random data key for a new segment, and its envelope.
    public static func create(master: MasterKey, context: SegmentContext) throws -> (SymmetricKey, DataKeyEnvelope) {
        let dataKey = SymmetricKey(size: .bits256)
        let envelope = try wrap(dataKey, master: master, context: context)
        return (dataKey, envelope)
    }

    static func wrap(_ dataKey: SymmetricKey, master: MasterKey, context: SegmentContext) throws -> DataKeyEnvelope {
        let box = try AES.GCM.seal(dataKey.withUnsafeBytes { Array($0) }, using: master.secret,
                                   authenticating: context.wrappingAAD(keyId: master.id, version: master.version))
        return DataKeyEnvelope(keyId: master.id, keyVersion: master.version, wrapped: Array(box.combined!))
    }

    /// Unwraps the data key.
    /// - Throws: `.keyUnavailable` when the master key version is missing, `.wrongKey` when
    ///   it does not open the envelope (another key file, or a key id reused).
    public func unwrap(keys: any KeyProvider, context: SegmentContext) throws -> SymmetricKey {
        let master = try keys.key(id: keyId, version: keyVersion)
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped)
            let bytes = try AES.GCM.open(box, using: master.secret, authenticating: context.wrappingAAD(keyId: keyId, version: keyVersion))
            return SymmetricKey(data: bytes)
        } catch {
            throw StorageError(.wrongKey, "master key \(keyId) version \(keyVersion) in the key file does not open the data key of \(context.label) segment \(context.baseOffset): the key file is not the one this data was written with")
        }
    }

    /// Re-wraps under another master key without changing the data key.
    public func rewrapped(under master: MasterKey, keys: any KeyProvider, context: SegmentContext) throws -> DataKeyEnvelope {
        try Self.wrap(try unwrap(keys: keys, context: context), master: master, context: context)
    }

    public func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.appendLE(UInt16(keyId.utf8.count))
        out.append(contentsOf: keyId.utf8)
        out.appendLE(keyVersion)
        out.appendLE(UInt16(wrapped.count))
        out.append(contentsOf: wrapped)
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws -> DataKeyEnvelope {
        try bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            let id = String(decoding: try reader.readBytes(Int(try reader.read(UInt16.self))), as: UTF8.self)
            let version = try reader.read(UInt32.self)
            let wrapped = Array(try reader.readBytes(Int(try reader.read(UInt16.self))))
            guard reader.remaining == 0, wrapped.count == 12 + 32 + 16 else {
                throw StorageError(.corrupt, "malformed data-key envelope")
            }
            return DataKeyEnvelope(keyId: id, keyVersion: version, wrapped: wrapped)
        }
    }
}

/// What a segment's ciphertext is bound to: its stream and shard (the last two parts of
/// the shard directory, which stay the same when the data directory moves) and base.
public struct SegmentContext: Sendable, Equatable {
    public var label: String
    public var baseOffset: UInt64

    public init(label: String, baseOffset: UInt64) {
        self.label = label
        self.baseOffset = baseOffset
    }

    /// `stream/shardId-…` from a shard directory path.
    public static func label(forShardDirectory directory: String) -> String {
        directory.split(separator: "/").suffix(2).joined(separator: "/")
    }

    func wrappingAAD(keyId: String, version: UInt32) -> [UInt8] {
        var aad = Array("sluice/data-key/v1\u{0}".utf8)
        aad.append(contentsOf: label.utf8)
        aad.append(0)
        aad.appendLE(baseOffset)
        aad.append(contentsOf: keyId.utf8)
        aad.append(0)
        aad.appendLE(version)
        return aad
    }

    /// Associated data of the frame at `position`: binds it to this segment and place,
    /// and covers the clear batch header (offsets, count, times).
    func frameAAD(position: Int64, batchHeader: UnsafeRawBufferPointer) -> [UInt8] {
        var aad = Array("sluice/frame/v1\u{0}".utf8)
        aad.append(contentsOf: label.utf8)
        aad.append(0)
        aad.appendLE(baseOffset)
        aad.appendLE(position)
        aad.append(contentsOf: batchHeader)
        return aad
    }
}
