/// The commit journal's bytes (FORMAT.md, "Commit journal"): its header and its entries.
enum JournalFormat {
    static let magic: [UInt8] = Array("SLUICEJL".utf8)
    static let version: UInt16 = 1
    /// Space reserved for the header; entries start here.
    static let headerSize = 4096
    static let entryMarker: UInt32 = 0x544E_454A
    /// The journal header's fields: magic (8), version (2), reserved (2), generation (8),
    /// then the CRC of those (4).
    static let headerCRCAt = 8 + 2 + 2 + 8
    /// An entry header's fields: marker (4), generation (8), body length (4), CRC (4).
    static let entryGenerationAt = 4
    static let entryLengthAt = entryGenerationAt + 8
    static let entryCRCAt = entryLengthAt + 4
    static let entryHeaderSize = entryCRCAt + 4

    /// One write of a journal entry: `bytes` go to the file at `path` (relative to the
    /// data directory) at `position`.
    struct Write: Sendable, Equatable {
        var path: String
        var position: Int64
        var bytes: [UInt8]

        var encodedSize: Int { 2 + path.utf8.count + 8 + 4 + bytes.count }
    }

    static func encodeHeader(generation: UInt64) -> [UInt8] {
        var out = magic
        out.appendLE(version)
        out.appendLE(UInt16(0))
        out.appendLE(generation)
        out.appendLE(CRC32C.checksum(out))
        out += [UInt8](repeating: 0, count: headerSize - out.count)
        return out
    }

    /// The header's generation, or nil when the bytes are not a valid header (a new or
    /// damaged file: then nothing in it is replayed).
    static func decodeHeader(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count >= headerCRCAt + 4, Array(bytes[0..<magic.count]) == magic else { return nil }
        return bytes.withUnsafeBytes { raw -> UInt64? in
            var reader = ByteReader(raw, at: magic.count)
            guard (try? reader.read(UInt16.self)) == version,
                  (try? reader.read(UInt16.self)) != nil,
                  let generation = try? reader.read(UInt64.self),
                  let crc = try? reader.read(UInt32.self),
                  crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<headerCRCAt]))
            else { return nil }
            return generation
        }
    }

    /// Appends one entry holding `writes` to `out`.
    static func appendEntry(_ writes: [Write], generation: UInt64, to out: inout [UInt8]) {
        let start = out.count
        out.appendLE(entryMarker)
        out.appendLE(generation)
        out.appendLE(UInt32(0))
        out.appendLE(UInt32(0))
        let bodyStart = out.count
        out.appendLE(UInt32(writes.count))
        for write in writes {
            out.appendLE(UInt16(write.path.utf8.count))
            out.append(contentsOf: write.path.utf8)
            out.appendLE(UInt64(write.position))
            out.appendLE(UInt32(write.bytes.count))
            out.append(contentsOf: write.bytes)
        }
        out.storeLE(UInt32(out.count - bodyStart), at: start + entryLengthAt)
        // The CRC covers generation and length, then the body.
        var crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + entryGenerationAt)..<(start + entryCRCAt)])) }
        crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[bodyStart...]), continuing: crc) }
        out.storeLE(crc, at: start + entryCRCAt)
    }

    static func entrySize(_ writes: [Write]) -> Int {
        entryHeaderSize + 4 + writes.reduce(0) { $0 + $1.encodedSize }
    }

    /// The valid entries of a journal file's bytes, in order: each entry's writes. Stops
    /// at the first entry whose marker, generation or CRC does not match.
    static func decodeEntries(_ bytes: [UInt8], generation: UInt64) -> [[Write]] {
        var entries: [[Write]] = []
        bytes.withUnsafeBytes { raw in
            var position = headerSize
            while position + entryHeaderSize <= raw.count {
                var reader = ByteReader(raw, at: position)
                guard (try? reader.read(UInt32.self)) == entryMarker,
                      (try? reader.read(UInt64.self)) == generation,
                      let length = (try? reader.read(UInt32.self)).map(Int.init),
                      let crc = try? reader.read(UInt32.self),
                      position + entryHeaderSize + length <= raw.count
                else { return }
                let bodyStart = position + entryHeaderSize
                var expected = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(position + entryGenerationAt)..<(position + entryCRCAt)]))
                expected = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[bodyStart..<(bodyStart + length)]), continuing: expected)
                guard crc == expected, let writes = try? decodeBody(&reader) else { return }
                entries.append(writes)
                position = bodyStart + length
            }
        }
        return entries
    }

    private static func decodeBody(_ reader: inout ByteReader) throws -> [Write] {
        let count = Int(try reader.read(UInt32.self))
        var writes: [Write] = []
        for _ in 0..<count {
            let pathLength = Int(try reader.read(UInt16.self))
            let path = String(decoding: try reader.readBytes(pathLength), as: UTF8.self)
            // A crafted position ≥ 2^63 wraps negative here and the replay rejects it.
            let position = Int64(truncatingIfNeeded: try reader.read(UInt64.self))
            let length = Int(try reader.read(UInt32.self))
            writes.append(Write(path: path, position: position, bytes: Array(try reader.readBytes(length))))
        }
        return writes
    }
}
