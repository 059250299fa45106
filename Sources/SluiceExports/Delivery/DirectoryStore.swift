import FoundationEssentials
import Logging
import SluiceEngine
import SluiceStorage

/// Objects as files in a local directory (a USB disk, a NAS mount, a sync agent's
/// folder): written as a dot file in the final directory, fsynced, renamed into place and
/// the directory fsynced, so a reader never sees a partial object (OBJECTS.md).
public struct DirectoryStore: ObjectStore {
    public let directory: String
    /// `<stream>-<export>-`: the start of this export's object names, whose temporary
    /// files are `.<namePrefix><uuid>.tmp`.
    let namePrefix: String
    let fs: any FileSystem
    let logger: Logger

    public init(directory: String, namePrefix: String, fileSystem: any FileSystem = PosixFileSystem(), logger: Logger) {
        self.directory = directory
        self.namePrefix = namePrefix
        self.fs = fileSystem
        self.logger = logger
    }

    public var description: String { "files in \(directory)" }
    public var metricName: String { "DeliveryToFiles" }

    /// The configured directory itself is never created: a disk that is not mounted must
    /// not fill the mount point on the root file system.
    public func put(key: String, content: [UInt8]) async throws {
        guard fs.isDirectory(directory) else {
            throw EngineError(.resourceNotFound, "directory \(directory) does not exist (a disk not mounted?); create it or mount the disk: the records wait in the local stream")
        }
        let path = directory + "/" + key
        let parent = FileSystemPath.parent(path)
        try makeDirectories(parent)
        let temporary = parent + "/." + namePrefix + UUID().uuidString.lowercased() + ".tmp"
        let file = try fs.openFile(temporary, create: true)
        try file.truncate(to: 0)
        try file.write(content, at: 0)
        try file.sync()
        try fs.rename(temporary, to: path)
        try fs.syncDirectory(parent)
    }

    /// Creates missing directories down to `path`, each fsynced into its parent.
    private func makeDirectories(_ path: String) throws {
        guard !fs.isDirectory(path) else { return }
        let parent = FileSystemPath.parent(path)
        if parent != path { try makeDirectories(parent) }
        try fs.createDirectory(path)
        try fs.syncDirectory(parent)
    }

    public func removeLeftovers() async throws {
        guard fs.isDirectory(directory) else { return }
        let leftover = "." + namePrefix
        var directories = [directory]
        while let directory = directories.popLast() {
            for entry in try fs.listDirectory(directory) {
                let path = directory + "/" + entry
                if fs.isDirectory(path) {
                    directories.append(path)
                } else if entry.hasPrefix(leftover), entry.hasSuffix(".tmp") {
                    try fs.removeFile(path)
                    logger.notice("removed an object a crash left unfinished (its records are exported again)", metadata: ["file": "\(path)"])
                }
            }
        }
    }

    public func shutdown() async {}
}
