/// Cutting a run of records into batches under a record and a byte bound: the one way the
/// gateway's puts and the spool's appends are cut.
public enum Batches {
    /// Consecutive index ranges covering `0..<count`, each of at most `maxCount` items and
    /// at most `maxBytes` bytes by `size`; a range always takes at least one item, however
    /// big, so nothing is ever left over.
    public static func cut(count: Int, maxCount: Int = .max, maxBytes: Int, size: (Int) -> Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        while start < count {
            var end = start
            var bytes = 0
            while end < count, end - start < maxCount {
                let next = size(end)
                if end > start, bytes + next > maxBytes { break }
                bytes += next
                end += 1
            }
            ranges.append(start..<end)
            start = end
        }
        return ranges
    }
}
