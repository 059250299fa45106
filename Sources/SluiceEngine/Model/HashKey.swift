import Crypto

/// Kinesis hash keys: the MD5 of a partition key read as an unsigned 128-bit big-endian
/// integer, and the even split of [0, 2^128 − 1] that a new stream's shards own.
public enum HashKey {
    /// The hash key a partition key routes to.
    public static func of(partitionKey: String) -> UInt128 {
        let digest = Insecure.MD5.hash(data: Array(partitionKey.utf8))
        var value: UInt128 = 0
        for byte in digest { value = value << 8 | UInt128(byte) }
        return value
    }

    /// Parses an ExplicitHashKey: a decimal integer in [0, 2^128 − 1].
    public static func parse(_ text: String) -> UInt128? {
        guard !text.isEmpty, text.count <= 39, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) else { return nil }
        return UInt128(text)
    }

    /// Splits the hash-key space into `count` contiguous ranges the way Kinesis does:
    /// each range starts at k · ⌊2^128 / count⌋ and the last one ends at 2^128 − 1.
    public static func evenRanges(count: Int) -> [ClosedRange<UInt128>] {
        precondition(count > 0)
        if count == 1 { return [0...UInt128.max] }
        let n = UInt128(count)
        let step = UInt128.max / n + (UInt128.max % n + 1 == n ? 1 : 0)
        return (0..<count).map { k in
            let start = UInt128(k) * step
            let end = k == count - 1 ? UInt128.max : UInt128(k + 1) * step - 1
            return start...end
        }
    }
}
