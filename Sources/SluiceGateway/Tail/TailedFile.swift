import Glibc
import SluiceStorage

/// An open file being tailed: identity, read position, durable position, the assembler
/// holding its partial record.
struct TailedFile {
    struct Key: Hashable, Sendable {
        var device: UInt64
        var inode: UInt64
    }

    let key: Key
    var path: String
    let fd: Int32
    /// Next byte to read.
    var readOffset: Int64
    /// Bytes before this are durable (what the checkpoint says).
    var checkpoint: Int64
    var fingerprint: Fingerprint
    var assembler: LineAssembler
    /// Set when the path no longer leads to this file (renamed away or deleted).
    var rotatedAt: MonotonicInstant?
    /// The path this file was rotated from, while it is not finished: the file that now
    /// has that path is not read until this one is read to its end and quiet for
    /// `rotate_wait_ms`, so a key's lines keep their order across the rotation.
    var replaces: (path: String, since: MonotonicInstant)?
    /// Its producer id in the origins of its records (new after a truncation).
    var producer: UInt64 = UInt64.random(in: 1...UInt64.max)
    /// When its checkpoint entry was last saved (Unix ms; 0: never): a batch starts only
    /// after a save at most `FileSource.savedAtSlack` old, so a restart knows where to look.
    var checkpointSavedAt: Int64 = 0
    /// A batch of it is being stored, or about to be (set before, cleared after a burst).
    var batchInFlight = false
    /// What the last save of its entry said about `batchInFlight`.
    var savedInFlight = false
    /// When a read last found new bytes (opened: when it was opened).
    var lastGrowth: MonotonicInstant
    /// When its gathered multi-line record last grew (for `multiline_flush_ms`).
    var recordGrewAt: MonotonicInstant?
    var size: Int64 = 0

    var checkpointRecord: FileCheckpoint {
        FileCheckpoint(path: path, device: key.device, inode: key.inode,
                       fingerprintLength: fingerprint.length, fingerprint: fingerprint.crc, offset: checkpoint, replaces: replaces?.path,
                       producer: producer, savedAtMillis: checkpointSavedAt == 0 ? nil : checkpointSavedAt, inFlight: batchInFlight ? true : nil)
    }

    /// The file's size now, or nil when it cannot be stat'ed.
    func currentSize() -> Int64? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }
}

/// Files matching glob patterns, with their device and inode; directories and other
/// non-regular files are skipped.
enum FileGlob {
    /// - Parameter exclude: glob patterns (fnmatch, `*` crossing `/`) of paths to skip.
    static func match(_ patterns: [String], exclude: [String] = []) -> [(path: String, key: TailedFile.Key, size: Int64)] {
        var found: [(String, TailedFile.Key, Int64)] = []
        var seen = Set<String>()
        for pattern in patterns {
            var result = glob_t()
            defer { globfree(&result) }
            guard glob(pattern, 0, nil, &result) == 0 else { continue }
            for k in 0..<Int(result.gl_pathc) {
                guard let cPath = result.gl_pathv[k] else { continue }
                let path = String(cString: cPath)
                guard seen.insert(path).inserted, !exclude.contains(where: { fnmatch($0, path, 0) == 0 }) else { continue }
                var st = stat()
                guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                found.append((path, TailedFile.Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)), Int64(st.st_size)))
            }
        }
        return found
    }

    /// The directories to watch: each pattern's directory when it has no wildcard.
    static func directories(of patterns: [String]) -> [String] {
        patterns.compactMap { pattern in
            let directory = pattern.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            let path = directory.isEmpty ? (pattern.hasPrefix("/") ? "/" : ".") : directory
            return path.contains(where: { "*?[".contains($0) }) ? nil : path
        }
    }
}
