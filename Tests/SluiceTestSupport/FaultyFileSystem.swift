import SluiceStorage
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The real file system with faults on demand: a disk that fills up after a byte budget
/// (writes fail with ENOSPC after writing what fits, as a real full disk does) and an
/// fsync that fails with EIO.
public final class FaultyFileSystem: WrappingFileSystem {
    public let real = PosixFileSystem()
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
}

final class FaultyFile: WrappingFile {
    let inner: any RandomAccessFile
    let owner: FaultyFileSystem

    init(_ inner: any RandomAccessFile, owner: FaultyFileSystem) {
        self.inner = inner
        self.owner = owner
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
}
