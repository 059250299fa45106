/// Where things are under a data directory (FORMAT.md, "Directory layout").
public enum DataDirectoryLayout {
    /// Stream directories under `DATA_DIR/streams`, sorted by name.
    public static func streamDirectories(_ dataDirectory: String, fs: any FileSystem) throws -> [String] {
        let streams = dataDirectory + "/streams"
        return try fs.listDirectory(streams).sorted().map { streams + "/" + $0 }.filter(fs.isDirectory)
    }

    /// Shard directories of one stream, sorted by shard id.
    public static func shardDirectories(ofStream directory: String, fs: any FileSystem) throws -> [String] {
        try fs.listDirectory(directory).sorted().filter { $0.hasPrefix("shardId-") }.map { directory + "/" + $0 }
    }

    /// Every segment file (kept or quarantined) of every shard.
    public static func allSegments(_ dataDirectory: String, fs: any FileSystem) throws -> [String] {
        var paths: [String] = []
        for stream in try streamDirectories(dataDirectory, fs: fs) {
            for shard in try shardDirectories(ofStream: stream, fs: fs) {
                paths += try fs.listDirectory(shard).sorted()
                    .filter { $0.hasSuffix(".seg") || $0.hasSuffix(".seg.quarantined") }
                    .map { shard + "/" + $0 }
            }
        }
        return paths
    }
}
