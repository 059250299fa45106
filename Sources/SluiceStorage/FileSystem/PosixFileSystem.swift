#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real file system, through POSIX calls.
public struct PosixFileSystem: FileSystem {
    public init() {}

    public func openFile(_ path: String, create: Bool) throws -> any RandomAccessFile {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let fd = open(path, flags, 0o640)
        guard fd >= 0 else { throw StorageError.posix("open", path: path, errno: errno) }
        return PosixFile(fd: fd, path: path)
    }

    public func openForReading(_ path: String) throws -> any RandomAccessFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.posix("open", path: path, errno: errno) }
        return PosixFile(fd: fd, path: path)
    }

    public func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            if errno == ENOENT { return [] }
            throw StorageError.posix("opendir", path: path, errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func createDirectory(_ path: String) throws {
        if mkdir(path, 0o750) != 0 && errno != EEXIST {
            throw StorageError.posix("mkdir", path: path, errno: errno)
        }
    }

    public func fileExists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public func rename(_ from: String, to: String) throws {
        if Glibc.rename(from, to) != 0 { throw StorageError.posix("rename", path: from, errno: errno) }
    }

    public func removeFile(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw StorageError.posix("unlink", path: path, errno: errno) }
    }

    public func removeTree(_ path: String) throws {
        if isDirectory(path) {
            for name in try listDirectory(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT { throw StorageError.posix("rmdir", path: path, errno: errno) }
        } else {
            try removeFile(path)
        }
    }

    public func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.posix("open", path: path, errno: errno) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw StorageError.posix("fsync", path: path, errno: errno) }
    }

    public func setPermissions(_ path: String, mode: UInt32) throws {
        if chmod(path, mode_t(mode)) != 0 { throw StorageError.posix("chmod", path: path, errno: errno) }
    }

    public func permissions(_ path: String) throws -> UInt32 {
        var st = stat()
        if stat(path, &st) != 0 { throw StorageError.posix("stat", path: path, errno: errno) }
        return UInt32(st.st_mode) & 0o7777
    }
}

/// An open file descriptor; closed when the last reference goes away, so a reader that
/// still holds a segment keeps it readable even after retention unlinked it.
final class PosixFile: RandomAccessFile {
    let fd: Int32
    let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            if n >= 0 { return n }
            if errno != EINTR { throw StorageError.posix("read", path: path, errno: errno) }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + Int64(done)))
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.posix("write", path: path, errno: errno)
            }
            done += n
        }
    }

    func sync() throws {
        if fsync(fd) != 0 { throw StorageError.posix("fsync", path: path, errno: errno) }
    }

    func syncData() throws {
        if fdatasync(fd) != 0 { throw StorageError.posix("fdatasync", path: path, errno: errno) }
    }

    func truncate(to size: Int64) throws {
        if ftruncate(fd, off_t(size)) != 0 { throw StorageError.posix("truncate", path: path, errno: errno) }
    }

    func size() throws -> Int64 {
        var st = stat()
        if fstat(fd, &st) != 0 { throw StorageError.posix("stat", path: path, errno: errno) }
        return Int64(st.st_size)
    }
}
