import SluiceStorage

/// A test file system around the real one: it implements what it changes (faults, a
/// power cut, counting) and forwards the rest.
public protocol WrappingFileSystem: FileSystem {
    var real: PosixFileSystem { get }
}

extension WrappingFileSystem {
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

/// An open file around a real one, forwarding what the wrapper does not change.
public protocol WrappingFile: RandomAccessFile {
    var inner: any RandomAccessFile { get }
}

extension WrappingFile {
    public var path: String { inner.path }
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int { try inner.read(into: buffer, at: offset) }
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws { try inner.write(bytes, at: offset) }
    public func sync() throws { try inner.sync() }
    public func syncData() throws { try inner.syncData() }
    public func truncate(to size: Int64) throws { try inner.truncate(to: size) }
    public func size() throws -> Int64 { try inner.size() }
}
