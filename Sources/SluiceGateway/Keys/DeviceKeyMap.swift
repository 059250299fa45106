import Glibc
import Logging
import SluiceStorage
import Synchronization

/// A mapping file from device ids to partition keys, for fleets whose keys come from an
/// inventory rather than from the data: one `DEVICE_ID KEY` pair per line (whitespace
/// between them), `#` starts a comment. A device not in the file keeps the key the
/// template rendered.
///
/// The file is re-read when its modification time or size changes (`reloadIfChanged`,
/// which sources call once per batch): edit it in place or replace it with a rename. A
/// file that no longer parses is reported and the previous map stays in use.
public final class DeviceKeyMap: Sendable {
    public let path: String
    private let logger: Logger
    private let fileSystem: any FileSystem
    private let time: any TimeSource

    private struct Loaded {
        var keys: [String: String]
        var stamp: FileStamp
        var checkedAt: MonotonicInstant
    }

    private let state: Mutex<Loaded>
    /// How often `reloadIfChanged` looks at the file.
    let checkEvery: Duration

    /// - Throws: `DeviceKeyMapError` naming the file (and line) when it cannot be read or
    ///   parsed: at start a broken map is a config error.
    public init(
        path: String, checkEvery: Duration = .seconds(1), fileSystem: any FileSystem = PosixFileSystem(),
        time: any TimeSource = SystemTimeSource(), logger: Logger
    ) throws {
        self.path = path
        self.logger = logger
        self.checkEvery = checkEvery
        self.fileSystem = fileSystem
        self.time = time
        let stamp = FileStamp(path: path)
        let keys = try DeviceKeyMap.parse(file: path, fileSystem: fileSystem)
        state = Mutex(Loaded(keys: keys, stamp: stamp, checkedAt: time.monotonicNow()))
    }

    /// The key for `device`, or nil when the file does not list it.
    public func key(for device: String) -> String? {
        state.withLock { $0.keys[device] }
    }

    public var count: Int { state.withLock { $0.keys.count } }

    /// Re-reads the file when it changed (looked at no more than every `checkEvery`).
    public func reloadIfChanged() {
        let due = state.withLock { loaded -> FileStamp? in
            let now = time.monotonicNow()
            guard now - loaded.checkedAt >= checkEvery else { return nil }
            loaded.checkedAt = now
            let stamp = FileStamp(path: path)
            return stamp == loaded.stamp ? nil : stamp
        }
        guard let stamp = due else { return }
        do {
            let keys = try DeviceKeyMap.parse(file: path, fileSystem: fileSystem)
            state.withLock {
                $0.keys = keys
                $0.stamp = stamp
            }
            logger.info("device map reloaded", metadata: ["file": "\(path)", "devices": "\(keys.count)"])
        } catch {
            state.withLock { $0.stamp = stamp }
            logger.error("device map not reloaded; the previous map stays in use until the file is fixed", metadata: [
                "file": "\(path)", "error": "\(error)",
            ])
        }
    }

    static func parse(file path: String, fileSystem: any FileSystem) throws -> [String: String] {
        let bytes: [UInt8]
        do { bytes = try fileSystem.readWholeFile(path) } catch {
            throw DeviceKeyMapError(.unreadable, "\(path): cannot read the device map (\(error)); check the path and that the sluice user may read it", cause: error)
        }
        return try parse(String(decoding: bytes, as: UTF8.self), file: path)
    }

    static func parse(_ text: String, file: String) throws -> [String: String] {
        var keys: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 2 else {
                throw DeviceKeyMapError(.malformedLine, "\(file):\(number + 1): expected \"DEVICE_ID KEY\" (two fields), got \(fields.count)")
            }
            let key = String(fields[1])
            guard (1...256).contains(key.count) else {
                throw DeviceKeyMapError(.keyTooLong, "\(file):\(number + 1): the key for \(fields[0]) is longer than Kinesis' 256 characters")
            }
            keys[String(fields[0])] = key
        }
        return keys
    }
}

/// What tells a changed file: modification time, size and inode (a rename replaces it).
struct FileStamp: Equatable {
    var inode: UInt64 = 0
    var size: Int64 = -1
    var modifiedNanos: Int64 = 0

    init(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedNanos = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }
}

/// What is wrong with a device map file.
public enum DeviceKeyMapProblem: Sendable, Equatable {
    /// The file cannot be read.
    case unreadable
    /// A line that is not "DEVICE_ID KEY".
    case malformedLine
    /// A key longer than Kinesis' 256 characters.
    case keyTooLong
}

public typealias DeviceKeyMapError = CodedFailure<DeviceKeyMapProblem>

