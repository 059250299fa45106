/// Where things are under a data directory (FORMAT.md, "Directory layout").
public enum DataDirectoryLayout {
    /// Stream directories under `DATA_DIR/streams`, sorted by name.
    public static func streamDirectories(_ dataDirectory: String, fs: any FileSystem) throws -> [String] {
        let streams = dataDirectory + "/streams"
        return try fs.listDirectory(streams).sorted().map { streams + "/" + $0 }.filter(fs.isDirectory)
    }

    /// The gateway's per-stream spool directories under `DATA_DIR/spool` (their shard
    /// directories are `spool-shardId-…`, in the same segment format).
    public static func spoolDirectories(_ dataDirectory: String, fs: any FileSystem) throws -> [String] {
        let spool = dataDirectory + "/spool"
        guard fs.isDirectory(spool) else { return [] }
        return try fs.listDirectory(spool).sorted().map { spool + "/" + $0 }.filter(fs.isDirectory)
    }

    /// Shard directories of one stream (or of one stream's spool), sorted by shard id.
    public static func shardDirectories(ofStream directory: String, fs: any FileSystem) throws -> [String] {
        try fs.listDirectory(directory).sorted().filter { $0.hasPrefix("shardId-") || $0.hasPrefix("spool-shardId-") }.map { directory + "/" + $0 }
    }

    /// Every shard directory holding segments: streams' shards and spools' shards. Key
    /// rotation and retirement must see both, as both hold wrapped data keys.
    public static func allShardDirectories(_ dataDirectory: String, fs: any FileSystem) throws -> [String] {
        var shards: [String] = []
        for parent in try streamDirectories(dataDirectory, fs: fs) + spoolDirectories(dataDirectory, fs: fs) {
            shards += try shardDirectories(ofStream: parent, fs: fs)
        }
        return shards
    }

    /// Every segment file (kept or quarantined) of every shard and spool.
    public static func allSegments(_ dataDirectory: String, fs: any FileSystem) throws -> [String] {
        var paths: [String] = []
        for shard in try allShardDirectories(dataDirectory, fs: fs) {
            paths += try fs.listDirectory(shard).sorted()
                .filter { $0.hasSuffix(".seg") || $0.hasSuffix(".seg.quarantined") }
                .map { shard + "/" + $0 }
        }
        return paths
    }
}
