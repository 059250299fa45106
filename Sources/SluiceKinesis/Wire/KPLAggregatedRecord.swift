import Crypto
import SluiceStorage

/// The Kinesis Producer Library's aggregated record: many user records in one Kinesis
/// record, which is how a producer exceeds 1,000 user records/s per shard. Consumers
/// (the KCL, Lambda, `aws-kinesis-agg`) split it again.
///
/// Layout: the magic bytes `F3 89 9A C2`, a protobuf `AggregatedRecord`, and the MD5 of
/// that protobuf (16 bytes):
///
/// ```proto
/// message AggregatedRecord {
///   repeated string partition_key_table     = 1;
///   repeated string explicit_hash_key_table = 2;
///   repeated Record records                 = 3;
/// }
/// message Record {
///   required uint64 partition_key_index     = 1;
///   optional uint64 explicit_hash_key_index = 2;
///   required bytes  data                    = 3;
///   repeated Tag    tags                    = 4;   // not written; skipped when read
/// }
/// ```
/// Hand-written (a few varints and length-delimited fields) rather than generated with
/// swift-protobuf: it is the whole format and has no other use here.
public enum KPLAggregatedRecord {
    public static let magic: [UInt8] = [0xF3, 0x89, 0x9A, 0xC2]

    public struct UserRecord: Sendable, Equatable {
        public var partitionKey: String
        public var explicitHashKey: String?
        public var data: [UInt8]

        public init(partitionKey: String, explicitHashKey: String? = nil, data: [UInt8]) {
            self.partitionKey = partitionKey
            self.explicitHashKey = explicitHashKey
            self.data = data
        }
    }

    /// Packs `records` (in order) into as few aggregated records as fit in `maxBytes`
    /// each (magic and checksum included). A record too large to share one is sent
    /// alone, unaggregated. Each output's partition key is its first record's.
    /// - Returns: per Kinesis record its key, its data and how many user records it holds.
    public static func pack(_ records: [UserRecord], maxBytes: Int) -> [(partitionKey: String, data: [UInt8], count: Int)] {
        var out: [(partitionKey: String, data: [UInt8], count: Int)] = []
        var builder = Builder()
        for record in records {
            if !builder.isEmpty, builder.size(adding: record) > maxBytes {
                out.append(builder.finish())
                builder = Builder()
            }
            if builder.isEmpty, Builder().size(adding: record) > maxBytes {
                out.append((record.partitionKey, record.data, 1))
                continue
            }
            builder.add(record)
        }
        if !builder.isEmpty { out.append(builder.finish()) }
        return out
    }

    /// Whether `data` is an aggregated record (magic, and a matching MD5).
    public static func isAggregated(_ data: [UInt8]) -> Bool {
        guard data.count >= magic.count + 16, data.starts(with: magic) else { return false }
        let body = data[magic.count..<(data.count - 16)]
        return Array(Insecure.MD5.hash(data: body)) == Array(data.suffix(16))
    }

    /// The user records inside `data`; a record that is not aggregated comes back as
    /// itself under `partitionKey`.
    /// - Throws: `KPLFormatError` when the magic and checksum match but the protobuf is
    ///   damaged.
    public static func unpack(_ data: [UInt8], partitionKey: String) throws -> [UserRecord] {
        guard isAggregated(data) else { return [UserRecord(partitionKey: partitionKey, data: data)] }
        var reader = ProtoReader(bytes: data[magic.count..<(data.count - 16)])
        var keys: [String] = []
        var hashKeys: [String] = []
        var entries: [(key: UInt64, hash: UInt64?, data: [UInt8])] = []
        while let (field, wire) = try reader.tag() {
            switch (field, wire) {
            case (1, 2): keys.append(String(decoding: try reader.bytes(), as: UTF8.self))
            case (2, 2): hashKeys.append(String(decoding: try reader.bytes(), as: UTF8.self))
            case (3, 2):
                var record = ProtoReader(bytes: try reader.bytes()[...])
                var entry: (key: UInt64, hash: UInt64?, data: [UInt8]) = (0, nil, [])
                while let (f, w) = try record.tag() {
                    switch (f, w) {
                    case (1, 0): entry.key = try record.varint()
                    case (2, 0): entry.hash = try record.varint()
                    case (3, 2): entry.data = try record.bytes()
                    default: try record.skip(wire: w)
                    }
                }
                entries.append(entry)
            default: try reader.skip(wire: wire)
            }
        }
        return try entries.map { entry in
            guard entry.key < keys.count else { throw KPLFormatError(.indexOutOfRange, "aggregated record: partition key index \(entry.key) outside the table of \(keys.count)") }
            var hash: String?
            if let index = entry.hash {
                guard index < hashKeys.count else { throw KPLFormatError(.indexOutOfRange, "aggregated record: explicit hash key index \(index) outside the table of \(hashKeys.count)") }
                hash = hashKeys[Int(index)]
            }
            return UserRecord(partitionKey: keys[Int(entry.key)], explicitHashKey: hash, data: entry.data)
        }
    }

    /// One aggregated record being filled: key tables deduplicated, records encoded as added.
    struct Builder {
        private var keyIndex: [String: Int] = [:]
        private var keyTable: [String] = []
        private var hashIndex: [String: Int] = [:]
        private var hashTable: [String] = []
        private var body: [UInt8] = []
        /// Bytes the two key tables take encoded.
        private var tableBytes = 0
        private var count = 0

        var isEmpty: Bool { count == 0 }

        /// The whole aggregated record's size if `record` were added.
        func size(adding record: UserRecord) -> Int {
            var size = KPLAggregatedRecord.magic.count + tableBytes + body.count + 16 + encodedRecord(record).count
            if keyIndex[record.partitionKey] == nil { size += ProtoWriter.fieldSize(record.partitionKey.utf8.count) }
            if let hash = record.explicitHashKey, hashIndex[hash] == nil { size += ProtoWriter.fieldSize(hash.utf8.count) }
            return size
        }

        mutating func add(_ record: UserRecord) {
            if keyIndex[record.partitionKey] == nil {
                keyIndex[record.partitionKey] = keyTable.count
                keyTable.append(record.partitionKey)
                tableBytes += ProtoWriter.fieldSize(record.partitionKey.utf8.count)
            }
            if let hash = record.explicitHashKey, hashIndex[hash] == nil {
                hashIndex[hash] = hashTable.count
                hashTable.append(hash)
                tableBytes += ProtoWriter.fieldSize(hash.utf8.count)
            }
            body += encodedRecord(record)
            count += 1
        }

        private func encodedRecord(_ record: UserRecord) -> [UInt8] {
            var inner = ProtoWriter()
            inner.varint(field: 1, UInt64(keyIndex[record.partitionKey] ?? keyTable.count))
            if let hash = record.explicitHashKey { inner.varint(field: 2, UInt64(hashIndex[hash] ?? hashTable.count)) }
            inner.bytes(field: 3, record.data)
            var outer = ProtoWriter()
            outer.bytes(field: 3, inner.out)
            return outer.out
        }

        func finish() -> (partitionKey: String, data: [UInt8], count: Int) {
            var message = ProtoWriter()
            for key in keyTable { message.bytes(field: 1, Array(key.utf8)) }
            for hash in hashTable { message.bytes(field: 2, Array(hash.utf8)) }
            let protobuf = message.out + body
            return (keyTable[0], KPLAggregatedRecord.magic + protobuf + Array(Insecure.MD5.hash(data: protobuf)), count)
        }
    }
}

/// What is wrong with an aggregated record.
public enum KPLFormatProblem: Sendable, Equatable {
    /// A key index outside its table.
    case indexOutOfRange
    /// A field that runs past the end.
    case truncated
    /// A varint longer than 10 bytes.
    case malformedVarint
    /// A protobuf wire type the format does not use.
    case unknownWireType
}

public typealias KPLFormatError = CodedFailure<KPLFormatProblem>


/// Protobuf wire encoding: varints and length-delimited fields.
struct ProtoWriter {
    var out: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    mutating func varint(field: Int, _ value: UInt64) {
        varint(UInt64(field << 3))
        varint(value)
    }

    mutating func bytes(field: Int, _ value: [UInt8]) {
        varint(UInt64(field << 3 | 2))
        varint(UInt64(value.count))
        out += value
    }

    static func varintSize(_ value: Int) -> Int {
        var v = UInt64(value)
        var n = 1
        while v >= 0x80 {
            v >>= 7
            n += 1
        }
        return n
    }

    /// Bytes a length-delimited field of `length` bytes takes (tag < 16).
    static func fieldSize(_ length: Int) -> Int { 1 + varintSize(length) + length }
}

struct ProtoReader {
    var rest: ArraySlice<UInt8>

    init(bytes: ArraySlice<UInt8>) { rest = bytes }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = rest.popFirst() {
            guard shift < 64 else { throw KPLFormatError(.malformedVarint, "aggregated record: varint longer than 10 bytes") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw KPLFormatError(.truncated, "aggregated record: truncated varint")
    }

    /// The next field number and wire type, or nil at the end.
    mutating func tag() throws -> (Int, Int)? {
        guard !rest.isEmpty else { return nil }
        let key = try varint()
        return (Int(key >> 3), Int(key & 7))
    }

    mutating func bytes() throws -> [UInt8] {
        // Compared as UInt64 first: a crafted length ≥ 2^63 must not reach Int(_:).
        let declared = try varint()
        guard declared <= UInt64(rest.count) else { throw KPLFormatError(.truncated, "aggregated record: field of \(declared) bytes runs past the end") }
        let length = Int(declared)
        defer { rest = rest.dropFirst(length) }
        return Array(rest.prefix(length))
    }

    mutating func skip(wire: Int) throws {
        switch wire {
        case 0: _ = try varint()
        case 1: guard rest.count >= 8 else { throw KPLFormatError(.truncated, "aggregated record: truncated fixed64") }; rest = rest.dropFirst(8)
        case 2: _ = try bytes()
        case 5: guard rest.count >= 4 else { throw KPLFormatError(.truncated, "aggregated record: truncated fixed32") }; rest = rest.dropFirst(4)
        default: throw KPLFormatError(.unknownWireType, "aggregated record: unknown wire type \(wire)")
        }
    }
}
