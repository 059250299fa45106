extension ShardLog {
    /// A consistent view of what is committed, taken under the lock and read without it.
    struct Snapshot {
        var segments: [SegmentInfo]
        var endOffset: UInt64
        var trimHorizon: UInt64 { segments.first(where: { !$0.isEmpty })?.firstOffset ?? endOffset }
    }

    func snapshot() -> Snapshot {
        state.withLock { Snapshot(segments: $0.segments, endOffset: $0.committedOffset) }
    }

    /// The oldest offset still stored (or the end of the log when nothing is).
    public var trimHorizon: UInt64 { snapshot().trimHorizon }

    /// One past the newest committed offset: where a LATEST reader starts.
    public var endOffset: UInt64 { state.withLock { $0.committedOffset } }

    /// Reads committed records from `offset` on (from the trim horizon when `offset` has
    /// expired), at most `maxRecords` of them and, after the first, at most `maxBytes`.
    public func read(from offset: UInt64, maxRecords: Int, maxBytes: Int) throws -> ReadResult {
        let view = snapshot()
        let start = max(offset, view.trimHorizon)
        var records: [StoredRecord] = []
        var bytes = 0
        var full = false
        for info in view.segments where !info.isEmpty && info.endOffset > start {
            let from = max(start, info.firstOffset)
            var reader = FrameReader(file: info.segment.file, from: info.scanStart(forOffset: from), limit: info.size)
            scan: while true {
                let step = try reader.next { position, body in
                    let summary = try RecordBatch.summary(body)
                    guard summary.endOffset > from else { return }
                    try info.segment.forEachRecord(in: body, at: position) { record in
                        guard !full, record.offset >= from else { return }
                        let size = record.size
                        if !records.isEmpty && (records.count >= maxRecords || bytes + size > maxBytes) {
                            full = true
                            return
                        }
                        records.append(record)
                        bytes += size
                    }
                }
                switch step {
                case .frame:
                    if full { break scan }
                case .end:
                    break scan
                case .truncated(let position), .damaged(let position, _, _):
                    throw StorageError(.corrupt, "\(info.segment.path) is damaged at byte \(position); run `sluice verify` on the data directory")
                }
            }
            if full { break }
        }
        let next = full ? records.last!.offset + 1 : max(start, view.endOffset)
        return ReadResult(records: records, nextOffset: next, endOffset: view.endOffset)
    }

    /// The offset of the first record that arrived at or after `timestamp` (the end of the
    /// log when none did).
    public func offset(atTimestamp timestamp: Int64) throws -> UInt64 {
        let view = snapshot()
        for info in view.segments where !info.isEmpty {
            guard let last = info.lastTimestamp, last >= timestamp else { continue }
            var reader = FrameReader(file: info.segment.file, from: info.scanStart(forTimestamp: timestamp), limit: info.size)
            var found: UInt64?
            while found == nil {
                let step = try reader.next { position, body in
                    let summary = try RecordBatch.summary(body)
                    guard summary.lastTimestamp >= timestamp else { return }
                    if summary.firstTimestamp >= timestamp {
                        found = summary.firstOffset
                        return
                    }
                    try info.segment.forEachRecord(in: body, at: position) { record in
                        if found == nil && record.timestampMillis >= timestamp { found = record.offset }
                    }
                }
                if case .frame = step { continue }
                break
            }
            if let found { return found }
        }
        return view.endOffset
    }
}

import Synchronization