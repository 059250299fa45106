import SluiceStorage
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The real file system with faults on demand: a disk that fills up after a byte budget
/// (writes fail with ENOSPC after writing what fits, as a real full disk does) and an
/// fsync that fails with EIO.
public final class FaultyFileSystem: FileSystem {
    let real = PosixFileSystem()
    let state = Mutex<(budget: Int?, failSync: Bool)>((nil, false))

    public init() {}

    /// Bytes that may still be written before the disk is "full"; nil for unlimited.
    public func setBudget(_ bytes: Int?) { state.withLock { $0.budget = bytes } }
    public func setFailSync(_ fail: Bool) { state.withLock { $0.failSync = fail } }

    /// Takes up to `wanted` bytes from the budget; returns how many may be written.
    func spend(_ wanted: Int) -> Int {
        state.withLock { s in
            guard let budget = s.budget else { return wanted }
            let granted = min(budget, wanted)
            s.budget = budget - granted
            return granted
        }
    }

    var failSync: Bool { state.withLock { $0.failSync } }

    public func openFile(_ path: String, create: Bool) throws -> any RandomAccessFile {
        FaultyFile(try real.openFile(path, create: create), owner: self)
    }
    public func openForReading(_ path: String) throws -> any RandomAccessFile { try real.openForReading(path) }
    public func listDirectory(_ path: String) throws -> [String] { try real.listDirectory(path) }
    public func createDirectory(_ path: String) throws { try real.createDirectory(path) }
    public func fileExists(_ path: String) -> Bool { real.fileExists(path) }
    public func isDirectory(_ path: String) -> Bool { real.isDirectory(path) }
    public func rename(_ from: String, to: String) throws { try real.rename(from, to: to) }
    public func removeFile(_ path: String) throws { try real.removeFile(path) }
    public func removeTree(_ path: String) throws { try real.removeTree(path) }
    public func syncDirectory(_ path: String) throws { try real.syncDirectory(path) }
    public func setPermissions(_ path: String, mode: UInt32) throws { try real.setPermissions(path, mode: mode) }
    public func permissions(_ path: String) throws -> UInt32 { try real.permissions(path) }
}

final class FaultyFile: RandomAccessFile {
    let inner: any RandomAccessFile
    let owner: FaultyFileSystem

    init(_ inner: any RandomAccessFile, owner: FaultyFileSystem) {
        self.inner = inner
        self.owner = owner
    }

    var path: String { inner.path }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try inner.read(into: buffer, at: offset)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        let granted = owner.spend(bytes.count)
        if granted > 0 { try inner.write(UnsafeRawBufferPointer(rebasing: bytes[0..<granted]), at: offset) }
        if granted < bytes.count {
            throw StorageError(.diskFull, "write \(path): no space left on device (injected)")
        }
    }

    func sync() throws {
        if owner.failSync { throw StorageError(.io(errno: EIO), "fsync \(path): Input/output error (injected)") }
        try inner.sync()
    }

    func syncData() throws {
        if owner.failSync { throw StorageError(.io(errno: EIO), "fdatasync \(path): Input/output error (injected)") }
        try inner.syncData()
    }

    func truncate(to size: Int64) throws { try inner.truncate(to: size) }
    func size() throws -> Int64 { try inner.size() }
}
