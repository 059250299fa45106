import FoundationEssentials
import SluiceStorage

/// `shardId-…/shard.json`: what a shard was born with (index, hash-key range, parents,
/// starting offset, creation time), written once when the shard is first opened and never
/// changed. The engine never reads it: `stream.json` is the truth. It exists so that
/// `sluice repair` can rebuild a lost `stream.json` exactly, resharding included (a shard
/// that another shard names as parent was closed when that child was born).
enum ShardBirthRecord {
    static let fileName = "shard.json"

    static func writeIfMissing(_ shard: ShardMetadata, shardDirectory: String, fs: any FileSystem) throws {
        let path = shardDirectory + "/" + fileName
        guard !fs.fileExists(path) else { return }
        var birth = shard
        birth.closedAtMillis = nil
        birth.endOffset = nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try fs.writeAtomically(path, Array(try encoder.encode(birth)))
    }

    /// The record in `shardDirectory`, or nil when it is missing or does not describe the
    /// shard the directory is named after.
    static func read(shardDirectory: String, index: Int, fs: any FileSystem) -> ShardMetadata? {
        guard let bytes = try? fs.readWholeFile(shardDirectory + "/" + fileName),
              let shard = try? JSONDecoder().decode(ShardMetadata.self, from: Data(bytes)),
              shard.index == index else { return nil }
        return shard
    }
}
