import Dispatch
import Synchronization
extension ShardLog {
    /// Deletes whole segments whose newest record arrived before `cutoffMillis`, oldest
    /// first; returns how many went. The segment being appended to goes too when all of it
    /// expired and nothing is in flight; the next append then starts a new one.
    @discardableResult
    public func deleteSegments(newestRecordBefore cutoffMillis: Int64) throws -> Int {
        try deleteLeadingSegments { info in info.lastTimestamp.map { $0 < cutoffMillis } ?? false }
    }

    /// Deletes whole segments, oldest first, whose every record lies before `offset`: what a
    /// spool does once its records are stored elsewhere. Returns how many went.
    @discardableResult
    public func deleteSegments(before offset: UInt64) throws -> Int {
        try deleteLeadingSegments { info in info.endOffset <= offset }
    }

    /// Removes segments from the front while `doomed` says so; metadata first, then files,
    /// then the directory is fsynced.
    private func deleteLeadingSegments(while isDoomed: (SegmentInfo) -> Bool) throws -> Int {
        let doomed = state.withLock { s -> [SegmentInfo] in
            var doomed: [SegmentInfo] = []
            while let first = s.segments.first, isDoomed(first) {
                let isTail = s.segments.count == 1 && s.lastIsOpen
                if isTail {
                    guard s.queue.isEmpty, !s.flushing else { break }
                    s.lastIsOpen = false
                    s.tail = Tail()
                }
                doomed.append(s.segments.removeFirst())
            }
            return doomed
        }
        guard !doomed.isEmpty else { return 0 }
        // A replay must never write into a file that is gone.
        try journal?.checkpoint()
        for info in doomed { try fs.removeFile(info.segment.path) }
        try fs.syncDirectory(directory)
        return doomed.count
    }

    /// The committed segments, oldest first (what a size bound chooses from).
    public var committedSegments: [SegmentInfo] { snapshot().segments }

    /// Where each committed segment's records start and end, oldest first.
    public var segmentRanges: [Range<UInt64>] {
        state.withLock { $0.segments.map { $0.firstOffset..<$0.endOffset } }
    }

    /// Figures for status and metrics.
    public struct Stats: Sendable, Equatable {
        public var segments: Int
        public var bytes: Int64
        public var records: UInt64
        public var trimHorizon: UInt64
        public var endOffset: UInt64
    }

    public var stats: Stats {
        let view = snapshot()
        return Stats(
            segments: view.segments.count,
            bytes: view.segments.reduce(0) { $0 + $1.size },
            records: view.segments.reduce(0) { $0 + $1.recordCount },
            trimHorizon: view.trimHorizon,
            endOffset: view.endOffset
        )
    }

    /// With the periodic sync policy: fsyncs what was acknowledged since the last sync.
    public func sync() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            ioQueue.async {
                let file = self.state.withLock { s -> (any RandomAccessFile)? in
                    guard s.unsynced else { return nil }
                    s.unsynced = false
                    return s.segments.last?.segment.file
                }
                do {
                    try file?.sync()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// The error that made the log refuse writes (a failed fsync), if any.
    public var failure: StorageError? { state.withLock { $0.failure } }

    /// Whether the log's I/O queue runs a no-op within `timeout`: false when a write or
    /// fsync hangs (a dead disk, a stuck NFS mount).
    public func isResponsive(within timeout: Duration) async -> Bool {
        let answered = Mutex(false)
        ioQueue.async { answered.withLock { $0 = true } }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if answered.withLock({ $0 }) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return answered.withLock { $0 }
    }

    /// Stops accepting appends, waits for the ones in flight, and syncs.
    public func close() async throws {
        state.withLock { $0.closed = true }
        // The I/O queue is serial: this runs after any flush already scheduled.
        try await sync()
    }
}
