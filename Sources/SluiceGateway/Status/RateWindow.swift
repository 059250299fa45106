/// Counts per second over the last `seconds` seconds, for rates in `sluice status`.
/// Not synchronized; its owner locks.
struct RateWindow: Sendable {
    private var buckets: [(second: Int64, records: Int, bytes: Int)]
    private let seconds: Int

    init(seconds: Int = 10) {
        self.seconds = seconds
        buckets = Array(repeating: (-1, 0, 0), count: seconds)
    }

    mutating func add(records: Int, bytes: Int, nowMillis: Int64) {
        let second = nowMillis / 1000
        let slot = Int(second % Int64(seconds))
        if buckets[slot].second != second { buckets[slot] = (second, 0, 0) }
        buckets[slot].records += records
        buckets[slot].bytes += bytes
    }

    /// Average records/s and bytes/s over the complete seconds of the window.
    func rates(nowMillis: Int64) -> (records: Double, bytes: Double) {
        let current = nowMillis / 1000
        let window = (current - Int64(seconds))..<current
        let inWindow = buckets.filter { window.contains($0.second) }
        let records = inWindow.reduce(0) { $0 + $1.records }
        let bytes = inWindow.reduce(0) { $0 + $1.bytes }
        return (Double(records) / Double(seconds), Double(bytes) / Double(seconds))
    }
}
