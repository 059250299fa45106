/// Replaces a segment's header in place (used by `sluice keys rewrap`), crash-safely.
///
/// The new header has the same length as the old one (same key id, same envelope size).
/// It is first written to `<segment>.header` and fsynced; then written over the segment's
/// first bytes and fsynced; then the side file is removed. A crash in between leaves the
/// side file, and the next open of the shard (or the next rewrap) finishes the job.
public struct SegmentHeaderRewriter {
    let fs: any FileSystem
    public static let sideSuffix = ".header"

    public init(fs: any FileSystem = PosixFileSystem()) {
        self.fs = fs
    }

    public func rewrite(segment path: String, with header: SegmentHeader) throws {
        let old = try SegmentHeader.decode(try fs.openForReading(path).read(count: 4096, at: 0))
        guard old.encodedSize == header.encodedSize else {
            throw StorageError(.invalidArgument, "\(path): the new header is \(header.encodedSize) bytes, the old one \(old.encodedSize); headers are replaced only in place")
        }
        let side = path + Self.sideSuffix
        let sideFile = try fs.openFile(side, create: true)
        try sideFile.truncate(to: 0)
        try sideFile.write(header.encode(), at: 0)
        try sideFile.sync()
        try fs.syncDirectory(FileSystemPath.parent(path))
        try apply(side: side, to: path)
    }

    /// Finishes rewrites a crash interrupted in `directory`.
    public func finishInterrupted(in directory: String) throws {
        for name in try fs.listDirectory(directory) where name.hasSuffix(".seg" + Self.sideSuffix) {
            let side = directory + "/" + name
            try apply(side: side, to: String(side.dropLast(Self.sideSuffix.count)))
        }
    }

    private func apply(side: String, to path: String) throws {
        let bytes = try fs.readWholeFile(side)
        // A side file that does not hold a whole header was itself cut short: the segment
        // was never touched, so dropping it is safe.
        if let header = try? SegmentHeader.decode(bytes), fs.fileExists(path) {
            let file = try fs.openFile(path, create: false)
            try file.write(header.encode(), at: 0)
            try file.sync()
        }
        try fs.removeFile(side)
        try fs.syncDirectory(FileSystemPath.parent(path))
    }
}
