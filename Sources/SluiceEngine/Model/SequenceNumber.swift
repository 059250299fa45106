/// A Kinesis sequence number: 40 decimal digits, `4`, the shard index in 15 digits and the
/// record's offset in its shard in 24 (FORMAT.md, "Offsets and sequence numbers").
///
/// Strictly increasing within a shard, unique within a stream, greater in a child shard
/// than in its parents (children have higher indexes), and ordered the same as strings
/// and as numbers.
public struct SequenceNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var shardIndex: Int
    public var offset: UInt64

    public init(shardIndex: Int, offset: UInt64) {
        self.shardIndex = shardIndex
        self.offset = offset
    }

    public init?(_ text: String) {
        guard text.count == 40, text.first == "4", text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let digits = Array(text.utf8)
        guard let shard = Int(String(decoding: digits[1..<16], as: UTF8.self)),
              let offset = UInt64(String(decoding: digits[16..<40], as: UTF8.self)) else { return nil }
        self.init(shardIndex: shard, offset: offset)
    }

    /// Formatted digit by digit into one buffer: this runs once per record stored.
    public var description: String {
        String(unsafeUninitializedCapacity: 40) { buffer in
            buffer[0] = UInt8(ascii: "4")
            Self.writeDigits(UInt64(shardIndex), into: buffer, from: 1, width: 15)
            Self.writeDigits(offset, into: buffer, from: 16, width: 24)
            return 40
        }
    }

    /// Writes `value` zero-padded to `width` decimal digits at `start`.
    static func writeDigits(_ value: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, from start: Int, width: Int) {
        var rest = value
        for k in stride(from: start + width - 1, through: start, by: -1) {
            buffer[k] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
    }

    public static func < (a: Self, b: Self) -> Bool {
        (a.shardIndex, a.offset) < (b.shardIndex, b.offset)
    }
}

/// `shardId-000000000000`: the shard id format Kinesis uses.
public enum ShardID {
    public static func string(_ index: Int) -> String {
        String(unsafeUninitializedCapacity: 20) { buffer in
            for (k, byte) in "shardId-".utf8.enumerated() { buffer[k] = byte }
            SequenceNumber.writeDigits(UInt64(index), into: buffer, from: 8, width: 12)
            return 20
        }
    }

    /// The index in a shard id; also accepts the bare number as Kinesis does. Only
    /// 1–12 ASCII digits: a sign, a longer number or other characters are not a shard id.
    public static func index(_ id: String) -> Int? {
        let digits = id.hasPrefix("shardId-") ? id.utf8.dropFirst(8) : id.utf8[...]
        guard (1...12).contains(digits.count), digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return Int(String(decoding: digits, as: UTF8.self))
    }
}
