import SluiceStorage
import Synchronization

/// The real file system plus what a power cut does to it: `cutPower()` takes back every
/// write that no `sync`/`syncData` of its file made durable, and removes every file
/// created since its directory was last synced. (The worst case a kernel allows; a real
/// one may keep some of it.) Truncation is not taken back: storage only truncates new
/// files and undoes failed writes with it.
public final class PowerLossFileSystem: WrappingFileSystem {
    public let real = PosixFileSystem()

    struct Undo {
        let position: Int64
        let previous: [UInt8]
    }

    struct Pending {
        /// The size the last sync made durable.
        var syncedSize: Int64
        /// What each unsynced write overwrote, oldest first.
        var undo: [Undo] = []
    }

    struct State {
        var pending: [String: Pending] = [:]
        /// Files created since their directory was last synced, by directory.
        var created: [String: Set<String>] = [:]
    }

    let state = Mutex(State())

    public init() {}

    /// Undoes everything not durable. Open files must not be used afterwards: reopen.
    public func cutPower() throws {
        let (pending, created) = state.withLock { s in
            defer { s = State() }
            return (s.pending, s.created)
        }
        for (path, file) in pending where real.fileExists(path) {
            let handle = try real.openFile(path, create: false)
            for undo in file.undo.reversed() { try handle.write(undo.previous, at: undo.position) }
            try handle.truncate(to: file.syncedSize)
        }
        for path in created.values.flatMap({ $0 }) where real.fileExists(path) { try real.removeFile(path) }
    }

    /// Writes that would be lost if the power went now.
    public var unsyncedWrites: Int { state.withLock { $0.pending.values.reduce(0) { $0 + $1.undo.count } } }

    func willWrite(_ file: any RandomAccessFile, count: Int, at position: Int64) throws {
        let size = try file.size()
        let previous = position < size ? try file.read(count: Int(min(Int64(count), size - position)), at: position) : []
        state.withLock { s in
            s.pending[file.path, default: Pending(syncedSize: size)].undo.append(Undo(position: position, previous: previous))
        }
    }

    func didSync(_ file: any RandomAccessFile) {
        state.withLock { $0.pending[file.path] = nil }
    }

    public func openFile(_ path: String, create: Bool) throws -> any RandomAccessFile {
        let existed = real.fileExists(path)
        let file = try real.openFile(path, create: create)
        if !existed {
            state.withLock { s in
                s.created[FileSystemPath.parent(path), default: []].insert(path)
                s.pending[path] = Pending(syncedSize: 0)
            }
        }
        return PowerLossFile(file, owner: self)
    }
    public func removeFile(_ path: String) throws {
        try real.removeFile(path)
        state.withLock { s in
            s.pending[path] = nil
            s.created[FileSystemPath.parent(path)]?.remove(path)
        }
    }
    public func removeTree(_ path: String) throws {
        try real.removeTree(path)
        state.withLock { s in
            s.pending = s.pending.filter { !$0.key.hasPrefix(path + "/") }
            s.created = s.created.filter { !$0.key.hasPrefix(path + "/") && $0.key != path }
        }
    }
    public func syncDirectory(_ path: String) throws {
        try real.syncDirectory(path)
        state.withLock { $0.created[path] = nil }
    }
}

final class PowerLossFile: WrappingFile {
    let inner: any RandomAccessFile
    let owner: PowerLossFileSystem

    init(_ inner: any RandomAccessFile, owner: PowerLossFileSystem) {
        self.inner = inner
        self.owner = owner
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try owner.willWrite(inner, count: bytes.count, at: offset)
        try inner.write(bytes, at: offset)
    }

    func sync() throws {
        try inner.sync()
        owner.didSync(inner)
    }

    func syncData() throws {
        try inner.syncData()
        owner.didSync(inner)
    }
}
