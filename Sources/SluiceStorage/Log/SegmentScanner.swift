import Crypto

/// Reads a whole segment file and judges it (FORMAT.md, "Recovery"), without changing it.
/// Recovery acts on the verdict; `sluice verify` only reports it.
public enum SegmentScanner {
    /// The verdict on one segment.
    public enum Problem: Sendable, Equatable {
        /// Bytes from `position` to the end are an unfinished append.
        case tornTail(position: Int64, reason: String)
        /// The segment is damaged at `position` in a way a crash cannot explain.
        case corrupt(position: Int64, reason: String)
    }

    public struct Outcome: Sendable {
        /// What is valid: every frame before the first problem.
        public var info: SegmentInfo
        public var frames: Int
        public var fileSize: Int64
        public var problem: Problem?
    }

    /// Checks a frame body whose CRC matched: its batch header, that its offsets continue
    /// the frames before it (`info`), that times do not run backwards, that its kind fits the
    /// segment and, with the data key, that it authenticates at `position`.
    /// - Parameter resuming: the first frame after a damaged range, whose offsets may
    ///   skip past the records the damage took (but never go back).
    static func check(
        _ body: UnsafeRawBufferPointer, at position: Int64, in segment: Segment, after info: SegmentInfo, resuming: Bool
    ) throws -> RecordBatch.Summary {
        let summary = try RecordBatch.summary(body)
        let expected = info.isEmpty ? max(info.endOffset, segment.header.baseOffset) : info.endOffset
        if info.isEmpty || resuming ? summary.firstOffset < expected : summary.firstOffset != expected {
            throw StorageError(.corrupt, "frame offset \(summary.firstOffset) does not follow \(expected)")
        }
        if let last = info.lastTimestamp, summary.firstTimestamp < last {
            throw StorageError(.corrupt, "frame arrival time runs backwards")
        }
        guard (summary.kind == RecordBatch.sealedKind) == segment.header.isEncrypted else {
            throw StorageError(.corrupt, segment.header.isEncrypted ? "plain frame in an encrypted segment" : "sealed frame in a plain segment")
        }
        if let dataKey = segment.dataKey {
            _ = try RecordBatch.open(body, dataKey: dataKey, context: segment.context, position: position)
        }
        return summary
    }

    /// Scans `file` as a segment.
    /// - Parameters:
    ///   - expectedBase: the base offset its file name gives.
    ///   - isNewest: whether this is the newest segment of its shard (only there can a
    ///     damaged end be a torn tail).
    ///   - keys: master keys; with them an encrypted segment's data key is unwrapped and
    ///     every sealed frame authenticated, without them only CRCs are checked.
    /// - Throws: `StorageError` when the file cannot be read, or when `keys` lack the
    ///   master key version the segment needs or hold a different key (`.keyUnavailable`,
    ///   `.wrongKey`): a key problem is never mistaken for damage.
    public static func scan(
        file: any RandomAccessFile,
        expectedBase: UInt64,
        isNewest: Bool,
        indexInterval: Int64 = 64 << 10,
        keys: (any KeyProvider)? = nil
    ) throws -> Outcome {
        let fileSize = try file.size()
        let headerBytes = try file.read(count: Int(min(fileSize, 4096)), at: 0)
        let header: SegmentHeader
        do {
            header = try SegmentHeader.decode(headerBytes)
        } catch let error as StorageError {
            let placeholder = Segment(
                baseOffset: expectedBase, path: file.path,
                header: SegmentHeader(baseOffset: expectedBase, createdAtMillis: 0), file: file
            )
            var info = SegmentInfo(segment: placeholder)
            info.size = 0
            // A newest segment whose header never fully reached the disk is an unfinished
            // roll: nothing in it was ever acknowledged.
            let unfinished = isNewest && (fileSize < Int64(SegmentHeader.fixedSize + 4)
                || headerBytes.allSatisfy { $0 == 0 })
            let problem: Problem = unfinished
                ? .tornTail(position: 0, reason: error.message)
                : .corrupt(position: 0, reason: error.message)
            return Outcome(info: info, frames: 0, fileSize: fileSize, problem: problem)
        }
        var dataKey: SymmetricKey?
        if header.isEncrypted {
            let context = SegmentContext(label: SegmentContext.label(forShardDirectory: FileSystemPath.parent(file.path)), baseOffset: expectedBase)
            guard let envelope = try? DataKeyEnvelope.decode(header.envelope) else {
                let placeholder = Segment(baseOffset: expectedBase, path: file.path, header: header, file: file)
                return Outcome(info: SegmentInfo(segment: placeholder), frames: 0, fileSize: fileSize,
                               problem: .corrupt(position: 0, reason: "malformed data-key envelope in the header"))
            }
            if let keys {
                do {
                    dataKey = try envelope.unwrap(keys: keys, context: context)
                } catch let error as StorageError {
                    throw StorageError(error.code, "\(file.path): \(error.message)")
                }
            }
        }
        let segment = Segment(baseOffset: expectedBase, path: file.path, header: header, file: file, dataKey: dataKey)
        var info = SegmentInfo(segment: segment)
        guard header.baseOffset == expectedBase else {
            return Outcome(info: info, frames: 0, fileSize: fileSize, problem: .corrupt(
                position: 0, reason: "header base offset \(header.baseOffset) does not match the file name"))
        }
        var reader = FrameReader(file: file, from: segment.headerSize, limit: fileSize)
        var frames = 0
        while true {
            var summaryError: String?
            let step = try reader.next { position, body in
                do {
                    let summary = try check(body, at: position, in: segment, after: info, resuming: false)
                    info.add(summary, at: position, frameSize: Int64(Frame.headerSize + body.count), indexInterval: indexInterval)
                } catch let error as StorageError {
                    summaryError = error.message
                }
            }
            switch step {
            case .end:
                return Outcome(info: info, frames: frames, fileSize: fileSize, problem: nil)
            case .frame(let position, _):
                // A frame whose CRC holds but whose content is wrong was written wrong or
                // altered on purpose: never a torn tail.
                if let reason = summaryError {
                    return Outcome(info: info, frames: frames, fileSize: fileSize,
                                   problem: .corrupt(position: position, reason: reason))
                }
                frames += 1
            case .truncated(let position):
                let problem: Problem = isNewest
                    ? .tornTail(position: position, reason: "incomplete frame at end of file")
                    : .corrupt(position: position, reason: "incomplete frame at end of a closed segment")
                return Outcome(info: info, frames: frames, fileSize: fileSize, problem: problem)
            case .damaged(let position, let reason, let end):
                let reachesEnd = end.map { $0 >= fileSize } ?? false
                let torn = isNewest ? (reachesEnd ? true : try reader.isZeroFilled(from: position)) : false
                let problem: Problem = torn
                    ? .tornTail(position: position, reason: reason)
                    : .corrupt(position: position, reason: reason)
                return Outcome(info: info, frames: frames, fileSize: fileSize, problem: problem)
            }
        }
    }
}
