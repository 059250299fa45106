import Logging

/// Recovery of one shard directory on open (FORMAT.md, "Recovery"): scan every segment,
/// cut a torn tail, quarantine corrupt segments, rebuild the index.
struct ShardLogRecovery {
    let directory: String
    let fs: any FileSystem
    let options: LogOptions
    let keys: (any KeyProvider)?
    let logger: Logger

    struct Result {
        var segments: [SegmentInfo] = []
        var nextOffset: UInt64 = 0
        /// Whether the newest segment survived and takes appends.
        var tailIsOpen = false
        var report = RecoveryReport()
    }

    func run() throws -> Result {
        var result = Result()
        let names = try fs.listDirectory(directory)
        for name in names where name.hasSuffix(".tmp") { try fs.removeFile(directory + "/" + name) }
        try SegmentHeaderRewriter(fs: fs).finishInterrupted(in: directory)
        let bases = names.compactMap(Segment.baseOffset(fileName:)).sorted()
        // Segments a salvage in this run wrote (and so already read back).
        var salvagedBases: Set<UInt64> = []
        for (k, base) in bases.enumerated() where !salvagedBases.contains(base) {
            let isNewest = bases[(k + 1)...].allSatisfy(salvagedBases.contains)
            let path = directory + "/" + Segment.fileName(baseOffset: base)
            let file = try fs.openFile(path, create: false)
            var outcome = try SegmentScanner.scan(
                file: file, expectedBase: base, isNewest: isNewest,
                indexInterval: isNewest ? options.indexIntervalBytes : options.closedIndexIntervalBytes, keys: keys
            )
            if outcome.info.segment.header.isEncrypted, keys == nil, outcome.problem == nil {
                throw StorageError(.keyUnavailable, "\(path) is encrypted; configure [encryption] key_file with the key file it was written with")
            }
            if base < result.nextOffset, outcome.problem == nil {
                outcome.problem = .corrupt(position: 0, reason: "base offset \(base) overlaps the previous segment, which ends at \(result.nextOffset)")
            }
            result.report.segments += 1
            result.report.frames += outcome.frames
            switch outcome.problem {
            case nil:
                result.segments.append(outcome.info)
                result.nextOffset = max(result.nextOffset, outcome.info.endOffset)
                result.tailIsOpen = isNewest
            case .tornTail(let position, let reason):
                let cut = try cutTornTail(file: file, path: path, at: position, fileSize: outcome.fileSize)
                result.report.tornTails.append(.init(file: path, position: position, bytes: cut, brokenFile: path + ".broken"))
                logger.warning("cut a torn tail", metadata: [
                    "file": "\(path)", "at_byte": "\(position)", "bytes_cut": "\(cut)", "reason": "\(reason)",
                    "kept_in": "\(path).broken",
                ])
                if position > 0 {
                    result.segments.append(outcome.info)
                    result.nextOffset = max(result.nextOffset, outcome.info.endOffset)
                    result.tailIsOpen = true
                } else {
                    result.nextOffset = max(result.nextOffset, base)
                }
            case .corrupt(let position, let reason):
                if let salvaged = try salvage(file: file, outcome: outcome, path: path, base: base, isNewest: isNewest, position: position, reason: reason) {
                    salvagedBases.formUnion(salvaged.written)
                    result.segments += salvaged.segments
                    result.nextOffset = max(result.nextOffset, salvaged.segments.last?.endOffset ?? base)
                    if isNewest && !salvaged.endsValid {
                        // The damaged tail could have held any offset below base + size.
                        result.nextOffset = max(result.nextOffset, base + UInt64(max(outcome.fileSize, 1)))
                    }
                    result.tailIsOpen = isNewest && salvaged.endsValid
                    result.report.salvaged.append(salvaged.report)
                    logger.error("a segment is damaged inside: the frames before and after the damage are kept and served, the damaged bytes set aside", metadata: [
                        "file": "\(path)", "at_byte": "\(position)", "reason": "\(reason)",
                        "damaged_ranges": "\(salvaged.report.damagedRanges.map { "\($0[0])..<\($0[1])" })",
                        "records_lost": "\(salvaged.report.lostRecords)", "salvaged_into": "\(salvaged.report.salvagedSegments)",
                        "damaged_bytes_in": "\(salvaged.report.damagedBytesIn)",
                    ])
                    continue
                }
                let target = path + ".quarantined"
                try fs.rename(path, to: target)
                try fs.syncDirectory(directory)
                result.report.quarantined.append(.init(file: path, position: position, reason: reason, quarantinedAs: target))
                logger.error("quarantined a corrupt segment; its records are not served until it is repaired", metadata: [
                    "file": "\(path)", "at_byte": "\(position)", "reason": "\(reason)", "moved_to": "\(target)",
                ])
                // No offset the damaged segment could hold is ever handed out again. An older
                // segment is bounded by the next one's base; the newest by base + file size,
                // since every record takes more than one byte.
                if isNewest {
                    result.nextOffset = max(result.nextOffset, base + UInt64(max(outcome.fileSize, 1)))
                    result.tailIsOpen = false
                }
            }
        }
        return result
    }

    /// Moves the bytes from `position` to the end into `<path>.broken`, then truncates.
    /// A cut at 0 (an unfinished header) removes the segment file.
    private func cutTornTail(file: any RandomAccessFile, path: String, at position: Int64, fileSize: Int64) throws -> Int64 {
        let cut = fileSize - position
        let broken = try fs.openFile(path + ".broken", create: true)
        var at = position
        var end = try broken.size()
        while at < fileSize {
            let chunk = try file.read(count: Int(min(1 << 20, fileSize - at)), at: at)
            if chunk.isEmpty { break }
            try broken.write(chunk, at: end)
            end += Int64(chunk.count)
            at += Int64(chunk.count)
        }
        try broken.sync()
        if position == 0 {
            try fs.removeFile(path)
        } else {
            try file.truncate(to: position)
            try file.sync()
        }
        try fs.syncDirectory(directory)
        return cut
    }
}
