import Synchronization

/// What a shard took in since the last look: the on-demand autoscaler's input.
final class WriteWindow: Sendable {
    private let state: Mutex<(startedAt: UInt64, bytes: Int, records: Int, throttled: Int, coldSince: UInt64?)>

    init(now: UInt64) {
        state = Mutex((now, 0, 0, 0, nil))
    }

    func add(bytes: Int, records: Int, throttled: Int) {
        state.withLock {
            $0.bytes += bytes
            $0.records += records
            $0.throttled += throttled
        }
    }

    /// Rates over the window (per second) and throttled records; starts a new window.
    /// Also tracks since when the shard has been cold (under `coldShare` of its limits).
    func take(now: UInt64, isCold: (Double, Double) -> Bool) -> (bytesPerSecond: Double, recordsPerSecond: Double, throttled: Int, coldFor: UInt64) {
        state.withLock { s in
            let seconds = max(Double(now &- s.startedAt) / 1e9, 0.001)
            let bytes = Double(s.bytes) / seconds, records = Double(s.records) / seconds
            let throttled = s.throttled
            if isCold(bytes, records) && throttled == 0 {
                if s.coldSince == nil { s.coldSince = s.startedAt }
            } else {
                s.coldSince = nil
            }
            let coldFor = s.coldSince.map { now &- $0 } ?? 0
            s = (now, 0, 0, 0, s.coldSince)
            return (bytes, records, throttled, coldFor)
        }
    }
}
