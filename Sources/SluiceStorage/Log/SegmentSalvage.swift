import Crypto

/// Finds the valid frames after a damaged range inside a segment (FORMAT.md, "Recovery",
/// 3), so one bad bit no longer hides the rest of a 128 MiB segment.
///
/// From the byte after the damage it looks for the next position where a frame begins:
/// a plausible length and batch header first (cheap, from a read-ahead window), then the
/// frame's CRC, its offsets (after every offset before the damage), its times and, when
/// the segment is sealed, its authentication at that position. From there it follows the
/// frames to the end of the file or to the next damage, and searches again after that.
struct SegmentSalvage {
    /// Consecutive valid frames.
    struct Run: Equatable {
        var start: Int64
        var end: Int64
        var firstOffset: UInt64
        var endOffset: UInt64
    }

    /// Runs and the damaged ranges around them, in file order.
    struct Plan {
        var runs: [Run] = []
        var damaged: [Range<Int64>] = []
    }

    let segment: Segment
    let file: any RandomAccessFile
    let fileSize: Int64

    /// - Parameters:
    ///   - damagedAt: where the first bad frame starts.
    ///   - prefix: what the valid frames before it hold.
    func plan(damagedAt: Int64, prefix: SegmentInfo) throws -> Plan {
        var plan = Plan()
        var before = prefix
        var from = damagedAt
        while from < fileSize {
            guard let (run, info) = try nextRun(after: from, following: before) else {
                plan.damaged.append(from..<fileSize)
                break
            }
            plan.damaged.append(from..<run.start)
            plan.runs.append(run)
            before = info
            // A run that ends before the file does stopped at more damage: search again.
            from = run.end
        }
        return plan
    }

    /// The next run of valid frames that starts after `from`, and what it leaves in `info`.
    private func nextRun(after from: Int64, following before: SegmentInfo) throws -> (Run, SegmentInfo)? {
        var window = Window(file: file, limit: fileSize)
        var candidate = from + 1
        while candidate + Int64(Frame.headerSize + RecordBatch.headerSize) <= fileSize {
            if try plausible(at: candidate, window: &window, after: before),
               let found = try follow(from: candidate, after: before) {
                return found
            }
            candidate += 1
        }
        return nil
    }

    /// The cheap test: a length that fits, a known kind, offsets and times that could follow.
    private func plausible(at position: Int64, window: inout Window, after before: SegmentInfo) throws -> Bool {
        guard let head = try window.bytes(at: position, count: Frame.headerSize + RecordBatch.headerSize) else { return false }
        return head.withUnsafeBytes { raw -> Bool in
            let length = Int64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
            guard length >= Int64(RecordBatch.headerSize), length <= Int64(Frame.maxBodySize),
                  position + Int64(Frame.headerSize) + length <= fileSize else { return false }
            let kind = raw[Frame.headerSize]
            guard kind == (segment.header.isEncrypted ? RecordBatch.sealedKind : RecordBatch.plainKind) else { return false }
            let first = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: Frame.headerSize + RecordBatch.firstOffsetAt, as: UInt64.self))
            let count = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: Frame.headerSize + RecordBatch.countAt, as: UInt32.self))
            let firstTime = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: Frame.headerSize + RecordBatch.firstTimeAt, as: Int64.self))
            let expected = max(before.endOffset, segment.header.baseOffset)
            // Every record takes more than one byte, so no offset in this file lies beyond
            // expected + the file's size.
            guard first >= expected, first - expected <= UInt64(fileSize), count >= 1 else { return false }
            return before.lastTimestamp.map { firstTime >= $0 } ?? true
        }
    }

    /// Follows valid frames from `start`; nil when the first one is not valid.
    private func follow(from start: Int64, after before: SegmentInfo) throws -> (Run, SegmentInfo)? {
        var info = before
        var reader = FrameReader(file: file, from: start, limit: fileSize)
        var run: Run?
        while true {
            var valid = false
            let step = try reader.next { position, body in
                guard let summary = try? SegmentScanner.check(body, at: position, in: segment, after: info, resuming: run == nil) else { return }
                if run == nil {
                    run = Run(start: position, end: position, firstOffset: summary.firstOffset, endOffset: summary.firstOffset)
                    // Offsets the damage took are not part of this run's segment.
                    info = SegmentInfo(segment: segment)
                }
                info.add(summary, at: position, frameSize: Int64(Frame.headerSize + body.count), indexInterval: .max)
                run!.end = position + Int64(Frame.headerSize + body.count)
                run!.endOffset = summary.endOffset
                valid = true
            }
            guard case .frame = step, valid else { break }
        }
        guard let run else { return nil }
        return (run, info)
    }
}

/// A read-ahead window over a file, so a byte-by-byte search costs one read per MiB.
private struct Window {
    let file: any RandomAccessFile
    let limit: Int64
    var start: Int64 = 0
    var bytes: [UInt8] = []

    init(file: any RandomAccessFile, limit: Int64) {
        self.file = file
        self.limit = limit
    }

    /// `count` bytes at `position`, or nil past the end.
    mutating func bytes(at position: Int64, count: Int) throws -> ArraySlice<UInt8>? {
        guard position + Int64(count) <= limit else { return nil }
        if position < start || position + Int64(count) > start + Int64(bytes.count) {
            start = position
            bytes = try file.read(count: Int(min(Int64(1 << 20), limit - position)), at: position)
            guard bytes.count >= count else { return nil }
        }
        let at = Int(position - start)
        return bytes[at..<at + count]
    }
}
