#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps a second sluiced off a data directory in use (`DATA_DIR/lock`, a POSIX record
/// lock held while the engine is open).
///
/// Why: two engines on one directory would interleave appends in the same segments, and
/// the second one's start would replay and reset the commit journal under the first, so
/// a later power cut could lose what the first had acknowledged. The kernel drops the lock
/// when the process dies, so a kill -9 never leaves a stale one. It is process-scoped:
/// opening the engine again in the same process (tests) is allowed.
public final class DataDirectoryLock: Sendable {
    let fd: Int32

    /// - Throws: `.unavailable` naming the process holding the lock.
    public init(dataDirectory: String) throws {
        let path = dataDirectory + "/lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw StorageError.posix("open", path: path, errno: errno) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        guard fcntl(fd, F_SETLK, &lock) != 0 else { return }
        let code = errno
        var holder = flock()
        holder.l_type = Int16(F_WRLCK)
        holder.l_whence = Int16(SEEK_SET)
        let pid = fcntl(fd, F_GETLK, &holder) == 0 && holder.l_type != Int16(F_UNLCK) ? " (pid \(holder.l_pid))" : ""
        close(fd)
        if code == EACCES || code == EAGAIN {
            throw StorageError(.unavailable, "\(dataDirectory) is in use by another sluiced\(pid); stop it first, or give this one its own data_dir")
        }
        throw StorageError.posix("lock", path: path, errno: code)
    }

    deinit { close(fd) }
}
