import Synchronization

/// A stream at run time: its metadata and shards behind one lock.
final class StreamHandle: Sendable {
    let directory: String
    let state: Mutex<State>

    struct State {
        var metadata: StreamMetadata {
            didSet { routes = ShardMap(stream: metadata.name, version: StreamHandle.nextVersion(), shards: metadata.shards) }
        }
        var shards: [Int: ShardHandle]
        /// The open shards' ranges, parsed once per metadata change (routing runs per
        /// record). Its version changes with every metadata change, unique across streams
        /// and the process lifetime, so a cached copy elsewhere knows when it is stale.
        var routes: ShardMap

        init(metadata: StreamMetadata, shards: [Int: ShardHandle]) {
            self.metadata = metadata
            self.shards = shards
            routes = ShardMap(stream: metadata.name, version: StreamHandle.nextVersion(), shards: metadata.shards)
        }
    }

    private static let versions = Atomic<UInt64>(0)
    static func nextVersion() -> UInt64 { versions.add(1, ordering: .relaxed).newValue }

    init(directory: String, metadata: StreamMetadata, shards: [Int: ShardHandle]) {
        self.directory = directory
        self.state = Mutex(State(metadata: metadata, shards: shards))
    }

    var metadata: StreamMetadata { state.withLock { $0.metadata } }
    var name: String { state.withLock { $0.metadata.name } }

    /// The open shard whose hash-key range holds `hashKey`.
    func route(_ hashKey: UInt128) -> ShardHandle? {
        state.withLock { s in s.routes.route(hashKey).flatMap { s.shards[$0.index] } }
    }

    /// The shard `route` names, if the stream's map is still the one it was made with (a
    /// shard's range never changes while it is open, and any change of the open shards
    /// makes a new map version).
    func shard(routedBy route: ShardRoute) -> ShardHandle? {
        state.withLock { s in
            guard s.routes.version == route.mapVersion, s.routes.open.contains(where: { $0.index == route.index }) else { return nil }
            return s.shards[route.index]
        }
    }

    func shard(_ index: Int) -> (ShardMetadata, ShardHandle)? {
        state.withLock { s in
            guard let meta = s.metadata.shards.first(where: { $0.index == index }), let handle = s.shards[index] else { return nil }
            return (meta, handle)
        }
    }

    /// The open shards and their hash-key ranges, as `route` sees them now.
    var shardMap: ShardMap { state.withLock { $0.routes } }

    var mapVersion: UInt64 { state.withLock { $0.routes.version } }

    var allShards: [ShardHandle] { state.withLock { Array($0.shards.values).sorted { $0.index < $1.index } } }
}
