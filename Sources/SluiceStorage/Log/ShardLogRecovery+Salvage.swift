import Crypto

/// Recovery of a segment damaged inside (FORMAT.md, "Recovery", 3): the frames before the
/// damage stay where they are, each run of valid frames after it moves to a segment of
/// its own (named by its first offset, sealed under a fresh data key when the stream is
/// encrypted), and the damaged bytes are kept in `<segment>.damaged`.
extension ShardLogRecovery {
    /// What salvaging one segment produced.
    struct Salvaged {
        /// The prefix (when it holds records) and one segment per run, in offset order.
        var segments: [SegmentInfo]
        /// Segment files this salvage (re)wrote: recovery must not scan them twice.
        var written: Set<UInt64>
        /// Whether the file ends with a valid run (else its tail was damaged).
        var endsValid: Bool
        var report: RecoveryReport.Salvage
    }

    /// Salvages `file` (segment `base`), damaged at `position`; nil when nothing after the
    /// damage can be read (the caller then quarantines as before).
    func salvage(file: any RandomAccessFile, outcome: SegmentScanner.Outcome, path: String, base: UInt64,
                 isNewest: Bool, position: Int64, reason: String) throws -> Salvaged? {
        let segment = outcome.info.segment
        guard position > 0, !segment.header.isEncrypted || segment.dataKey != nil else { return nil }
        let plan = try SegmentSalvage(segment: segment, file: file, fileSize: outcome.fileSize)
            .plan(damagedAt: position, prefix: outcome.info)
        // Nothing before the damage and nothing after it: quarantine the file as a whole.
        guard !plan.runs.isEmpty || !outcome.info.isEmpty else { return nil }

        // 1. The evidence: every byte from the damage on, before anything changes.
        let evidence = path + ".damaged"
        try copy(file, from: position, to: outcome.fileSize, into: evidence)
        // 2. Each run into a segment of its own, renamed into place and synced.
        var written: Set<UInt64> = []
        for run in plan.runs {
            try rewrite(run, of: segment, from: file)
            written.insert(run.firstOffset)
        }
        try fs.syncDirectory(directory)
        // 3. Only then the damaged segment is cut back to what precedes the damage (or
        //    removed when nothing does and no run took its name).
        if outcome.info.isEmpty {
            if !written.contains(base) { try fs.removeFile(path) }
        } else {
            try file.truncate(to: position)
            try file.sync()
        }
        try fs.syncDirectory(directory)

        var segments: [SegmentInfo] = outcome.info.isEmpty ? [] : [outcome.info]
        for (k, run) in plan.runs.enumerated() {
            let runPath = directory + "/" + Segment.fileName(baseOffset: run.firstOffset)
            let scanned = try SegmentScanner.scan(
                file: try fs.openFile(runPath, create: false), expectedBase: run.firstOffset,
                isNewest: isNewest && k == plan.runs.count - 1, indexInterval: options.indexIntervalBytes, keys: keys
            )
            guard scanned.problem == nil else {
                throw StorageError(.corrupt, "\(runPath), salvaged from \(path), does not read back: \(scanned.problem!)")
            }
            segments.append(scanned.info)
        }
        let lost = plan.runs.first.map { $0.firstOffset - max(outcome.info.endOffset, base) } ?? 0
        let report = RecoveryReport.Salvage(
            file: path, position: position, reason: reason, damagedRanges: plan.damaged.map { [$0.lowerBound, $0.upperBound] },
            salvagedSegments: plan.runs.map { directory + "/" + Segment.fileName(baseOffset: $0.firstOffset) },
            lostRecords: lost, damagedBytesIn: evidence
        )
        return Salvaged(segments: segments, written: written, endsValid: plan.runs.last?.end == outcome.fileSize, report: report)
    }

    /// Writes `run`'s records, offsets and arrival times unchanged, to a new segment.
    private func rewrite(_ run: SegmentSalvage.Run, of segment: Segment, from file: any RandomAccessFile) throws {
        let path = directory + "/" + Segment.fileName(baseOffset: run.firstOffset)
        let context = SegmentContext(label: SegmentContext.label(forShardDirectory: directory), baseOffset: run.firstOffset)
        var dataKey: SymmetricKey?
        var envelope: [UInt8] = []
        if segment.header.isEncrypted, let keys {
            let keyId = try DataKeyEnvelope.decode(segment.header.envelope).keyId
            let (key, wrapped) = try DataKeyEnvelope.create(master: try keys.activeKey(id: keyId), context: context)
            dataKey = key
            envelope = wrapped.encode()
        }
        let header = SegmentHeader(baseOffset: run.firstOffset, createdAtMillis: segment.header.createdAtMillis, envelope: envelope)
        let temporary = path + ".tmp"
        let out = try fs.openFile(temporary, create: true)
        try out.truncate(to: 0)
        var at = Int64(0)
        try out.write(header.encode(), at: at)
        at += Int64(header.encodedSize)
        var reader = FrameReader(file: file, from: run.start, limit: run.end)
        var scratch: [UInt8] = []
        while true {
            var frame: [UInt8] = []
            let step = try reader.next { position, body in
                var records: [StoredRecord] = []
                try segment.forEachRecord(in: body, at: position) { records.append($0) }
                var entries: RecordBatch.Entries = []
                for record in records {
                    let item = record.logRecord
                    if entries.last?.timestamp == record.timestampMillis { entries[entries.count - 1].records.append(item) } else {
                        entries.append((record.timestampMillis, [item]))
                    }
                }
                let first = records.first!.offset
                if let dataKey {
                    try RecordBatch.appendSealedFrame(to: &frame, entries: entries, firstOffset: first, dataKey: dataKey,
                                                      context: context, position: at, scratch: &scratch)
                } else {
                    RecordBatch.appendFrame(to: &frame, entries: entries, firstOffset: first)
                }
            }
            guard case .frame = step else { break }
            try out.write(frame, at: at)
            at += Int64(frame.count)
        }
        try out.sync()
        try fs.rename(temporary, to: path)
    }

    /// Copies bytes [from, to) of `file` into a new file at `path`, synced.
    private func copy(_ file: any RandomAccessFile, from: Int64, to: Int64, into path: String) throws {
        let out = try fs.openFile(path, create: true)
        try out.truncate(to: 0)
        var at = from
        while at < to {
            let chunk = try file.read(count: Int(min(1 << 20, to - at)), at: at)
            if chunk.isEmpty { break }
            try out.write(chunk, at: at - from)
            at += Int64(chunk.count)
        }
        try out.sync()
    }
}
