/// Applies a commit journal's entries to the segment files they describe (FORMAT.md,
/// "Commit journal", Replay): what the journal made durable but the files may not hold
/// after a power loss.
///
/// The journal is a file on a disk, so each write is checked before it touches anything:
/// it must name a segment by the data directory's own layout
/// (`streams/<stream>/shardId-<12 digits>/<20 digits>.seg`, never an absolute path or a
/// `..`) and land at or before the segment's current end, within one journal flush. A
/// write that fails a check is reported and skipped; it never stops the start and never
/// writes anywhere else.
struct JournalReplay {
    let dataDirectory: String
    let fs: any FileSystem

    /// A journal write after its checks: apply it, skip it (its file was removed on
    /// purpose), or reject it (impossible for a journal sluiced wrote).
    enum Decision: Equatable {
        case apply(path: String)
        case skip
        case reject(String)
    }

    func apply(_ entries: [[JournalFormat.Write]]) throws -> CommitJournal.ReplayReport {
        try run(entries) { file, write in try file.write(write.bytes, at: write.position) }
    }

    /// The same checks as `apply`, changing nothing (`sluice verify`).
    func dryRun(_ entries: [[JournalFormat.Write]]) throws -> CommitJournal.ReplayReport {
        try run(entries, write: nil)
    }

    private func run(
        _ entries: [[JournalFormat.Write]], write: ((any RandomAccessFile, JournalFormat.Write) throws -> Void)?
    ) throws -> CommitJournal.ReplayReport {
        var report = CommitJournal.ReplayReport()
        var opened: [String: any RandomAccessFile] = [:]
        // Each file's size as the replay so far leaves it (a dry run writes nothing).
        var sizes: [String: Int64] = [:]
        for (number, entry) in entries.enumerated() {
            report.entries += 1
            for item in entry {
                switch try decide(item, opened: &opened, sizes: &sizes) {
                case .skip:
                    report.skipped += 1
                case .reject(let reason):
                    report.rejected.append("entry \(number + 1), write to \"\(item.path)\" at \(item.position): \(reason)")
                case .apply(let path):
                    if let write, let file = opened[path] { try write(file, item) }
                    sizes[path] = max(sizes[path] ?? 0, item.position + Int64(item.bytes.count))
                    report.writes += 1
                }
            }
        }
        if write != nil { for file in opened.values { try file.sync() } }
        return report
    }

    private func decide(
        _ write: JournalFormat.Write, opened: inout [String: any RandomAccessFile], sizes: inout [String: Int64]
    ) throws -> Decision {
        guard Self.isSegmentPath(write.path) else {
            return .reject("not a segment of this data directory's layout (streams/<stream>/shardId-…/<offset>.seg)")
        }
        guard write.bytes.count <= CommitJournal.maxFlushBytes else {
            return .reject("\(write.bytes.count) bytes is more than one journal flush (\(CommitJournal.maxFlushBytes))")
        }
        let path = dataDirectory + "/" + write.path
        if opened[path] == nil {
            guard fs.fileExists(path) else { return .skip }
            let file = try fs.openFile(path, create: false)
            opened[path] = file
            sizes[path] = try file.size()
        }
        // Legitimate writes continue a segment (or repeat bytes it holds): a position past
        // its end would leave a hole, and one past 2^50 once made every start fail.
        guard write.position >= 0, write.position <= sizes[path] ?? 0 else {
            return .reject("position past the segment's end (\(sizes[path] ?? 0) bytes)")
        }
        return .apply(path: path)
    }

    /// Whether `relative` names a segment the way the engine lays them out.
    static func isSegmentPath(_ relative: String) -> Bool {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "streams", !parts[1].isEmpty, parts[1] != ".", parts[1] != "..",
              parts[2].hasPrefix("shardId-"), parts[2].count == 20,
              parts[2].utf8.dropFirst(8).allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              parts[3].utf8.count == 24, parts[3].hasSuffix(".seg"),
              parts[3].utf8.dropLast(4).allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return false }
        return true
    }
}
