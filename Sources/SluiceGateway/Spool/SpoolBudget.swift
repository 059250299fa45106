import Logging
import Synchronization

/// What a full spool does.
public enum SpoolFullPolicy: String, Sendable, CaseIterable {
    /// Sources wait: files stop being read, MQTT stops consuming. Nothing is lost.
    case block
    /// The oldest spooled segment is dropped to make room; counted and logged.
    case dropOldest = "drop_oldest"
}

/// The bound on all spools together (`spool_max_bytes`) and the policy when it is reached.
final class SpoolBudget: Sendable {
    let maxBytes: Int64
    let policy: SpoolFullPolicy
    let logger: Logger

    private struct State {
        var lanes: [ObjectIdentifier: ShardLane] = [:]
        var dropped: UInt64 = 0
        var droppedSinceLog: UInt64 = 0
        var loggedAt: ContinuousClock.Instant?
        /// Producers waiting in `waitForRoom` now.
        var waiting = 0
    }

    private let state = Mutex(State())
    static let logInterval = Duration.seconds(10)

    init(maxBytes: Int64, policy: SpoolFullPolicy, logger: Logger) {
        self.maxBytes = maxBytes
        self.policy = policy
        self.logger = logger
    }

    func register(_ lane: ShardLane) { state.withLock { $0.lanes[ObjectIdentifier(lane)] = lane } }
    func unregister(_ lane: ShardLane) { _ = state.withLock { $0.lanes.removeValue(forKey: ObjectIdentifier(lane)) } }

    private var lanes: [ShardLane] { state.withLock { Array($0.lanes.values) } }

    /// Bytes all spools take on disk.
    var usedBytes: Int64 { lanes.reduce(0) { $0 + $1.spool.diskBytes } }
    var droppedRecords: UInt64 { state.withLock { $0.dropped } }

    /// Whether `bytes` more fit. A batch always fits into an empty spool, so a bound
    /// smaller than one batch cannot wedge the pipeline.
    func hasRoom(for bytes: Int) -> Bool {
        let used = usedBytes
        return used == 0 || used + Int64(bytes) <= maxBytes
    }

    /// Producers waiting for room now (`block`): how a test sees a source paused.
    var waitingProducers: Int { state.withLock { $0.waiting } }

    /// `block`: waits until `bytes` fit.
    func waitForRoom(for bytes: Int) async {
        state.withLock { $0.waiting += 1 }
        defer { state.withLock { $0.waiting -= 1 } }
        while !hasRoom(for: bytes), !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// `drop_oldest`: drops the oldest segment of the biggest spool until `bytes` fit or
    /// nothing is left to drop. Takes one lane's lock at a time, never while holding one.
    func dropUntilRoom(for bytes: Int) async {
        while !hasRoom(for: bytes) {
            guard let victim = lanes.filter({ !$0.spool.isEmpty }).max(by: { $0.spool.diskBytes < $1.spool.diskBytes }) else { return }
            let dropped = await victim.dropOldest()
            guard dropped > 0 else { return }
            count(dropped: dropped, from: victim)
        }
    }

    private func count(dropped: UInt64, from lane: ShardLane) {
        let report = state.withLock { s -> UInt64? in
            s.dropped += dropped
            s.droppedSinceLog += dropped
            if let at = s.loggedAt, ContinuousClock.now - at < Self.logInterval { return nil }
            defer { s.droppedSinceLog = 0; s.loggedAt = .now }
            return s.droppedSinceLog
        }
        if let report {
            logger.warning("spool full: dropped the oldest spooled records (on_full = \"drop_oldest\"); raise [limits] spool_max_bytes or add shards to keep them", metadata: [
                "dropped_records": "\(report)", "stream": "\(lane.stream)", "shard": "\(lane.shardId)",
                "spool_max_bytes": "\(maxBytes)", "dropped_total": "\(droppedRecords)",
            ])
        }
    }
}
