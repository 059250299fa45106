/// Applies a commit journal's entries to the segment files they describe (FORMAT.md,
/// "Commit journal", Replay): what the journal made durable but the files may not hold
/// after a power loss.
struct JournalReplay {
    let dataDirectory: String
    let fs: any FileSystem

    func apply(_ entries: [[JournalFormat.Write]]) throws -> CommitJournal.ReplayReport {
        var report = CommitJournal.ReplayReport()
        var opened: [String: any RandomAccessFile] = [:]
        var createdIn: Set<String> = []
        for entry in entries {
            report.entries += 1
            for write in entry {
                let path = write.path.hasPrefix("/") ? write.path : dataDirectory + "/" + write.path
                guard let file = try open(path, forWriteAt: write.position, opened: &opened, createdIn: &createdIn) else {
                    report.skipped += 1
                    continue
                }
                var bytes = write.bytes[...]
                var position = write.position
                if position == 0, let kept = try headerOnDisk(file) {
                    // `sluice keys rewrap` may have replaced the header since: keep it.
                    bytes = bytes.dropFirst(kept)
                    position = Int64(kept)
                }
                try Array(bytes).withUnsafeBytes { try file.write($0, at: position) }
                report.writes += 1
            }
        }
        for file in opened.values { try file.sync() }
        for directory in createdIn { try fs.syncDirectory(directory) }
        return report
    }

    /// The file a write goes to: the existing one, or a new one for a write at position 0
    /// (a segment the flush created) when its directory exists; nil to skip the write.
    private func open(
        _ path: String, forWriteAt position: Int64,
        opened: inout [String: any RandomAccessFile], createdIn: inout Set<String>
    ) throws -> (any RandomAccessFile)? {
        if let file = opened[path] { return file }
        let file: any RandomAccessFile
        if fs.fileExists(path) {
            file = try fs.openFile(path, create: false)
        } else {
            let directory = FileSystemPath.parent(path)
            guard position == 0, fs.isDirectory(directory) else { return nil }
            file = try fs.openFile(path, create: true)
            createdIn.insert(directory)
        }
        opened[path] = file
        return file
    }

    /// The size of a segment header already in the file that decodes, else nil.
    private func headerOnDisk(_ file: any RandomAccessFile) throws -> Int? {
        guard file.path.hasSuffix(".seg") else { return nil }
        let bytes = try file.read(count: 4096, at: 0)
        return (try? SegmentHeader.decode(bytes))?.encodedSize
    }
}
