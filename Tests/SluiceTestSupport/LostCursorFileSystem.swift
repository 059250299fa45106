import SluiceStorage
import Synchronization

/// The real file system, except that while `losing` is on, writing a file named `cursor`
/// (a spool's drain position, written atomically by a rename) leaves the old one in place,
/// as if the process had died before each write: what a crash between a drain step's put
/// and its cursor write leaves behind, as many steps in a row as wanted.
public final class LostCursorFileSystem: WrappingFileSystem {
    public let real = PosixFileSystem()
    let state = Mutex((losing: false, lost: 0))

    public init() {}

    public func setLosing(_ losing: Bool) { state.withLock { $0.losing = losing } }
    /// Cursor writes taken back so far.
    public var lostWrites: Int { state.withLock { $0.lost } }

    public func openFile(_ path: String, create: Bool) throws -> any RandomAccessFile {
        try real.openFile(path, create: create)
    }

    public func rename(_ from: String, to: String) throws {
        let lose = to.hasSuffix("/cursor") && state.withLock { s in
            if s.losing { s.lost += 1 }
            return s.losing
        }
        if lose { try real.removeFile(from) } else { try real.rename(from, to: to) }
    }
}
