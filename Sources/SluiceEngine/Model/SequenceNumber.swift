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

    public var description: String {
        "4" + Self.pad(String(shardIndex), 15) + Self.pad(String(offset), 24)
    }

    public static func < (a: Self, b: Self) -> Bool {
        (a.shardIndex, a.offset) < (b.shardIndex, b.offset)
    }

    private static func pad(_ digits: String, _ width: Int) -> String {
        String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// `shardId-000000000000`: the shard id format Kinesis uses.
public enum ShardID {
    public static func string(_ index: Int) -> String {
        let digits = String(index)
        return "shardId-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }

    /// The index in a shard id; also accepts the bare number as Kinesis does.
    public static func index(_ id: String) -> Int? {
        if id.hasPrefix("shardId-") { return Int(id.dropFirst(8)) }
        return Int(id)
    }
}
