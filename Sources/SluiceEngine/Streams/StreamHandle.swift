import Synchronization

/// A stream at run time: its metadata and shards behind one lock.
final class StreamHandle: Sendable {
    let directory: String
    let state: Mutex<State>

    struct State {
        var metadata: StreamMetadata
        var shards: [Int: ShardHandle]
    }

    init(directory: String, metadata: StreamMetadata, shards: [Int: ShardHandle]) {
        self.directory = directory
        self.state = Mutex(State(metadata: metadata, shards: shards))
    }

    var metadata: StreamMetadata { state.withLock { $0.metadata } }
    var name: String { state.withLock { $0.metadata.name } }

    /// The open shard whose hash-key range holds `hashKey`.
    func route(_ hashKey: UInt128) -> ShardHandle? {
        state.withLock { s in
            for shard in s.metadata.shards where shard.isOpen && shard.hashKeyRange.contains(hashKey) {
                return s.shards[shard.index]
            }
            return nil
        }
    }

    func shard(_ index: Int) -> (ShardMetadata, ShardHandle)? {
        state.withLock { s in
            guard let meta = s.metadata.shards.first(where: { $0.index == index }), let handle = s.shards[index] else { return nil }
            return (meta, handle)
        }
    }

    var allShards: [ShardHandle] { state.withLock { Array($0.shards.values).sorted { $0.index < $1.index } } }
}
