/// `sluice keys rewrap` and `sluice keys retire`'s safety check: which master-key
/// versions stored segments need, and moving them onto the newest version by re-wrapping
/// their data keys (record data is not rewritten).
public struct DataKeyRewrapper {
    let fs: any FileSystem

    public init(fs: any FileSystem = PosixFileSystem()) {
        self.fs = fs
    }

    /// Segment files that need each master key id and version.
    public func usage(dataDirectory: String) throws -> [String: [UInt32: [String]]] {
        var usage: [String: [UInt32: [String]]] = [:]
        for path in try DataDirectoryLayout.allSegments(dataDirectory, fs: fs) {
            guard let header = try? SegmentHeader.decode(try fs.openForReading(path).read(count: 4096, at: 0)),
                  header.isEncrypted, let envelope = try? DataKeyEnvelope.decode(header.envelope) else { continue }
            usage[envelope.keyId, default: [:]][envelope.keyVersion, default: []].append(path)
        }
        return usage
    }

    public struct Result: Sendable, Equatable {
        public var rewrapped = 0
        public var current = 0
        public var plain = 0
    }

    /// Re-wraps every encrypted segment's data key under the newest version of its key id.
    /// - Throws: on the first segment whose key is missing or wrong, naming it; segments
    ///   done before it stay done (running it again continues).
    public func rewrap(dataDirectory: String, keys: any KeyProvider) throws -> Result {
        var result = Result()
        let rewriter = SegmentHeaderRewriter(fs: fs)
        for shard in try DataDirectoryLayout.allShardDirectories(dataDirectory, fs: fs) {
            try rewriter.finishInterrupted(in: shard)
        }
        for path in try DataDirectoryLayout.allSegments(dataDirectory, fs: fs) {
            let header = try SegmentHeader.decode(try fs.openForReading(path).read(count: 4096, at: 0))
            guard header.isEncrypted else {
                result.plain += 1
                continue
            }
            let envelope = try DataKeyEnvelope.decode(header.envelope)
            let active = try keys.activeKey(id: envelope.keyId)
            guard active.version != envelope.keyVersion else {
                result.current += 1
                continue
            }
            let shardDirectory = FileSystemPath.parent(path)
            let context = SegmentContext(label: SegmentContext.label(forShardDirectory: shardDirectory), baseOffset: header.baseOffset)
            let fresh: DataKeyEnvelope
            do {
                fresh = try envelope.rewrapped(under: active, keys: keys, context: context)
            } catch let error as StorageError {
                throw StorageError(error.code, "\(path): \(error.message)")
            }
            var updated = header
            updated.envelope = fresh.encode()
            try rewriter.rewrite(segment: path, with: updated)
            result.rewrapped += 1
        }
        return result
    }
}
