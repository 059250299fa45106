import Logging
import SluiceStorage
import Synchronization

/// What a full spool does.
public enum SpoolFullPolicy: String, Sendable, CaseIterable {
    /// Sources wait: files stop being read, MQTT stops consuming. Nothing is lost.
    case block
    /// The oldest spooled segment is dropped to make room; counted and logged.
    case dropOldest = "drop_oldest"
}

/// The bound on all spools together (`spool_max_bytes`) and the policy when it is reached:
/// it decides whether records fit and keeps the count of what was dropped; the gateway,
/// which owns the lanes, measures the spools and drops. It knows no lane.
final class SpoolBudget: Sendable {
    let maxBytes: Int64
    let policy: SpoolFullPolicy
    let time: any TimeSource
    let logger: Logger
    /// Signalled by the gateway whenever a spool shrinks (a drain step, a drop).
    let room = RoomSignal()

    private struct State {
        var dropped: UInt64 = 0
        var droppedSinceLog: UInt64 = 0
        var loggedAt: MonotonicInstant?
        /// Producers waiting in `waitForRoom` now.
        var waiting = 0
    }

    private let state = Mutex(State())
    static let logInterval = Duration.seconds(10)

    init(maxBytes: Int64, policy: SpoolFullPolicy, time: any TimeSource, logger: Logger) {
        self.maxBytes = maxBytes
        self.policy = policy
        self.time = time
        self.logger = logger
    }

    var droppedRecords: UInt64 { state.withLock { $0.dropped } }
    /// Producers waiting for room now (`block`): how a test sees a source paused.
    var waitingProducers: Int { state.withLock { $0.waiting } }

    /// Whether `bytes` more fit beside `used`. A batch always fits into empty spools, so a
    /// bound smaller than one batch cannot wedge the pipeline.
    func fits(_ bytes: Int, used: Int64) -> Bool {
        used == 0 || used + Int64(bytes) <= maxBytes
    }

    /// `block`: waits until `bytes` fit beside what `used` measures, woken when a spool
    /// shrinks (and once a second regardless, should a shrink go unsignalled).
    func waitForRoom(for bytes: Int, used: () -> Int64) async {
        state.withLock { $0.waiting += 1 }
        defer { state.withLock { $0.waiting -= 1 } }
        while !Task.isCancelled {
            let generation = room.generation
            if fits(bytes, used: used()) { return }
            await room.wait(after: generation, timeout: .seconds(1))
        }
    }

    /// Counts records a lane dropped (`drop_oldest`) and logs them at most once per interval.
    func count(dropped: UInt64, stream: String, shardId: String) {
        let report = state.withLock { s -> UInt64? in
            s.dropped += dropped
            s.droppedSinceLog += dropped
            let now = time.monotonicNow()
            if let at = s.loggedAt, now - at < Self.logInterval { return nil }
            defer { s.droppedSinceLog = 0; s.loggedAt = now }
            return s.droppedSinceLog
        }
        if let report {
            logger.warning("spool full: dropped the oldest spooled records (on_full = \"drop_oldest\"); raise [limits] spool_max_bytes or add shards to keep them", metadata: [
                "dropped_records": "\(report)", "stream": "\(stream)", "shard": "\(shardId)",
                "spool_max_bytes": "\(maxBytes)", "dropped_total": "\(droppedRecords)",
            ])
        }
    }
}
