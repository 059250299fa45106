/// The file-system seam: every byte the storage module reads or writes goes through it.
///
/// Implementation requirements: `RandomAccessFile.write` either writes every byte or
/// throws; `sync` returns only once the file's data and size are durable; directory
/// operations are durable only after `syncDirectory`. `PosixFileSystem` is the real one;
/// tests wrap it to inject faults such as a full disk.
public protocol FileSystem: Sendable {
    /// Opens (and with `create`, creates empty) a file for reading and writing.
    func openFile(_ path: String, create: Bool) throws -> any RandomAccessFile
    /// Opens an existing file read-only.
    func openForReading(_ path: String) throws -> any RandomAccessFile
    /// Names in a directory (not `.` and `..`), unsorted; empty when it does not exist.
    func listDirectory(_ path: String) throws -> [String]
    func createDirectory(_ path: String) throws
    func fileExists(_ path: String) -> Bool
    func isDirectory(_ path: String) -> Bool
    func rename(_ from: String, to: String) throws
    func removeFile(_ path: String) throws
    /// Removes a directory and everything below it.
    func removeTree(_ path: String) throws
    /// Makes the directory's entries (created, renamed, removed files) durable.
    func syncDirectory(_ path: String) throws
    /// Sets a file's permission bits.
    func setPermissions(_ path: String, mode: UInt32) throws
    /// A file's permission bits.
    func permissions(_ path: String) throws -> UInt32
}

/// An open file addressed by absolute position (pread/pwrite), safe to read from several
/// threads at once.
public protocol RandomAccessFile: AnyObject, Sendable {
    var path: String { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (0 at end).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws
    /// fsync: data and metadata durable.
    func sync() throws
    /// fdatasync: data durable, and metadata only where reading the data back needs it
    /// (the size). Cheaper than `sync` for a file overwritten in place.
    func syncData() throws
    func truncate(to size: Int64) throws
    func size() throws -> Int64
}

extension RandomAccessFile {
    /// Reads exactly `count` bytes at `offset`, or fewer at end of file.
    public func read(count: Int, at offset: Int64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < count {
                let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + Int64(done))
                if n == 0 { break }
                done += n
            }
        }
        if done < count { bytes.removeLast(count - done) }
        return bytes
    }

    public func write(_ bytes: [UInt8], at offset: Int64) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    /// Files that cannot do better make their data durable with a full `sync`.
    public func syncData() throws { try sync() }
}

extension FileSystem {
    /// Replaces `path` with `bytes` atomically: write `path.tmp`, fsync, rename, fsync the
    /// directory. A crash leaves either the old or the new content, never a mix.
    public func writeAtomically(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o644) throws {
        let temporary = path + ".tmp"
        let file = try openFile(temporary, create: true)
        try file.truncate(to: 0)
        // Permissions before content: a secret is never in a file others may read.
        try setPermissions(temporary, mode: mode)
        try file.write(bytes, at: 0)
        try file.sync()
        try rename(temporary, to: path)
        try syncDirectory(Self.parentDirectory(of: path))
    }

    /// Reads a whole (small) file.
    public func readWholeFile(_ path: String) throws -> [UInt8] {
        let file = try openForReading(path)
        return try file.read(count: Int(try file.size()), at: 0)
    }

    /// Creates a directory and its missing parents.
    public func createDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        let parent = Self.parentDirectory(of: path)
        if parent != path, !parent.isEmpty { try createDirectories(parent) }
        if !isDirectory(path) { try createDirectory(path) }
    }

    public static func parentDirectory(of path: String) -> String {
        FileSystemPath.parent(path)
    }
}

/// Path arithmetic on plain strings (no Foundation in the storage module's hot paths).
public enum FileSystemPath {
    public static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}
