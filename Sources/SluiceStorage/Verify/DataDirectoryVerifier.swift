/// `sluice verify DATA_DIR`: checks every frame of every segment offline, changing nothing.
public struct DataDirectoryVerifier {
    /// One finding, with the file and byte it is about.
    public struct Finding: Sendable, Equatable {
        public enum Severity: String, Sendable { case damage, notice }
        public var severity: Severity
        public var file: String
        public var position: Int64?
        public var message: String

        public init(severity: Severity, file: String, position: Int64? = nil, message: String) {
            self.severity = severity
            self.file = file
            self.position = position
            self.message = message
        }
    }

    public struct Summary: Sendable {
        public var streams = 0
        public var shards = 0
        public var segments = 0
        public var frames = 0
        public var records: UInt64 = 0
        public var bytes: Int64 = 0
        public var findings: [Finding] = []

        public var isClean: Bool { !findings.contains { $0.severity == .damage } }
    }

    let fs: any FileSystem
    /// With keys, encrypted segments are also checked for authenticity, frame by frame.
    let keys: (any KeyProvider)?

    public init(fileSystem: any FileSystem = PosixFileSystem(), keys: (any KeyProvider)? = nil) {
        self.fs = fileSystem
        self.keys = keys
    }

    public func verify(dataDirectory: String) throws -> Summary {
        var summary = Summary()
        guard fs.isDirectory(dataDirectory) else {
            throw StorageError(.invalidArgument, "\(dataDirectory) is not a directory; pass sluiced's data_dir")
        }
        for streamPath in try DataDirectoryLayout.streamDirectories(dataDirectory, fs: fs) {
            summary.streams += 1
            try verifyShards(ofStream: streamPath, into: &summary)
        }
        let journal = try CommitJournal.inspect(dataDirectory: dataDirectory, fileSystem: fs)
        for rejection in journal.rejected {
            summary.findings.append(Finding(severity: .damage, file: CommitJournal.path(in: dataDirectory),
                message: "commit journal write rejected, not applied: \(rejection) (sluiced skips it at start; the segment keeps what it holds)"))
        }
        let pending = journal.entries
        if pending > 0 {
            summary.findings.append(Finding(severity: .notice, file: dataDirectory + "/journal/commit.journal",
                message: "\(pending) commit-journal entries are not yet checkpointed into their segments (normal while sluiced runs; a stopped sluiced applies them at its next start, so a short segment tail found now is restored then)"))
        }
        for spool in try DataDirectoryLayout.spoolDirectories(dataDirectory, fs: fs) {
            for shard in try DataDirectoryLayout.shardDirectories(ofStream: spool, fs: fs) {
                summary.shards += 1
                try verifyShard(shard, into: &summary)
            }
        }
        return summary
    }

    /// Checks the shards of one stream directory alone (the engine asks this of a stream
    /// whose metadata is missing: does it hold records that must be kept?).
    public func verify(streamDirectory: String) throws -> Summary {
        var summary = Summary()
        try verifyShards(ofStream: streamDirectory, into: &summary)
        return summary
    }

    private func verifyShards(ofStream streamPath: String, into summary: inout Summary) throws {
        for shard in try DataDirectoryLayout.shardDirectories(ofStream: streamPath, fs: fs) {
            summary.shards += 1
            try verifyShard(shard, into: &summary)
        }
    }

    private func verifyShard(_ directory: String, into summary: inout Summary) throws {
        let names = try fs.listDirectory(directory)
        for name in names.sorted() {
            if name.hasSuffix(".quarantined") {
                summary.findings.append(Finding(severity: .damage, file: directory + "/" + name,
                    message: "quarantined segment: its records are not served"))
            } else if name.hasSuffix(".damaged") {
                summary.findings.append(Finding(severity: .damage, file: directory + "/" + name,
                    message: "bytes cut out of a segment damaged inside (the records in them are lost; the frames before and after them are served); delete this file once noted"))
            } else if name.hasSuffix(".broken") {
                summary.findings.append(Finding(severity: .notice, file: directory + "/" + name,
                    message: "bytes cut from a torn tail at an earlier recovery (never acknowledged)"))
            }
        }
        let bases = names.compactMap(Segment.baseOffset(fileName:)).sorted()
        for (k, base) in bases.enumerated() {
            let path = directory + "/" + Segment.fileName(baseOffset: base)
            let file = try fs.openForReading(path)
            let outcome: SegmentScanner.Outcome
            do {
                outcome = try SegmentScanner.scan(file: file, expectedBase: base, isNewest: k == bases.count - 1, keys: keys)
            } catch let error as StorageError where error.code == .keyUnavailable || error.code == .wrongKey {
                summary.segments += 1
                summary.findings.append(Finding(severity: .damage, file: path, message: error.message))
                continue
            }
            summary.segments += 1
            summary.frames += outcome.frames
            summary.records += outcome.info.recordCount
            summary.bytes += outcome.fileSize
            switch outcome.problem {
            case nil: break
            case .tornTail(let position, let reason):
                summary.findings.append(Finding(severity: .damage, file: path, position: position,
                    message: "torn tail (\(reason)); sluiced cuts it at its next start"))
            case .corrupt(let position, let reason):
                summary.findings.append(Finding(severity: .damage, file: path, position: position, message: reason))
            }
        }
    }
}
