/// Applies a commit journal's entries to the segment files they describe (FORMAT.md,
/// "Commit journal", Replay): what the journal made durable but the files may not hold
/// after a power loss.
struct JournalReplay {
    let dataDirectory: String
    let fs: any FileSystem

    func apply(_ entries: [[JournalFormat.Write]]) throws -> CommitJournal.ReplayReport {
        var report = CommitJournal.ReplayReport()
        var opened: [String: any RandomAccessFile] = [:]
        for entry in entries {
            report.entries += 1
            for write in entry {
                let path = write.path.hasPrefix("/") ? write.path : dataDirectory + "/" + write.path
                guard let file = try open(path, opened: &opened) else {
                    report.skipped += 1
                    continue
                }
                try file.write(write.bytes, at: write.position)
                report.writes += 1
            }
        }
        for file in opened.values { try file.sync() }
        return report
    }

    /// The file a write goes to, or nil to skip the write: its file is gone (a segment's
    /// creation never goes through the journal, so a missing file was removed on purpose).
    private func open(_ path: String, opened: inout [String: any RandomAccessFile]) throws -> (any RandomAccessFile)? {
        if let file = opened[path] { return file }
        guard fs.fileExists(path) else { return nil }
        let file = try fs.openFile(path, create: false)
        opened[path] = file
        return file
    }
}
