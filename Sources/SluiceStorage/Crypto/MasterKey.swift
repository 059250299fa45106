import Crypto
import Synchronization

/// One version of a master key from the key file. The secret never leaves this type
/// except to wrap or unwrap data keys, and `description` does not show it.
public struct MasterKey: Sendable, CustomStringConvertible {
    public let id: String
    public let version: UInt32
    let secret: SymmetricKey

    public init(id: String, version: UInt32, secret: SymmetricKey) {
        self.id = id
        self.version = version
        self.secret = secret
    }

    public var description: String { "\(id) v\(version)" }
}

/// Where the storage module gets master keys: the plug point between the segment format
/// and the key file (`LocalKeyFile`), with an in-memory implementation for tests.
///
/// Implementation requirements: `activeKey` returns the newest version of a key id (new
/// data keys are wrapped under it); `key(id:version:)` returns any version still held, or
/// throws `StorageError` with code `.keyUnavailable` naming the id and version.
public protocol KeyProvider: Sendable {
    /// The key id used when a stream does not name one.
    var defaultKeyId: String { get }
    func activeKey(id: String) throws -> MasterKey
    func key(id: String, version: UInt32) throws -> MasterKey
}

/// Master keys held in memory (tests, and a snapshot of a key file).
public struct StaticKeyProvider: KeyProvider {
    public let keys: [MasterKey]

    public init(_ keys: [MasterKey]) {
        precondition(!keys.isEmpty)
        self.keys = keys
    }

    public var defaultKeyId: String { keys[0].id }

    public func activeKey(id: String) throws -> MasterKey {
        guard let key = keys.filter({ $0.id == id }).max(by: { $0.version < $1.version }) else {
            throw StorageError(.keyUnavailable, "master key \"\(id)\" is not in the key file; create it with `sluice keys rotate --key-id \(id)` or name an existing key")
        }
        return key
    }

    public func key(id: String, version: UInt32) throws -> MasterKey {
        guard let key = keys.first(where: { $0.id == id && $0.version == version }) else {
            throw StorageError(.keyUnavailable, "master key \(id) version \(version) is not in the key file")
        }
        return key
    }
}

/// A provider whose keys can be replaced while the daemon runs (a reload after
/// `sluice keys rotate`): new segments then use the new active version, and segments
/// already open keep their unwrapped data keys.
public final class ReloadableKeyProvider: KeyProvider {
    private let current: Mutex<StaticKeyProvider>

    public init(_ keys: StaticKeyProvider) {
        current = Mutex(keys)
    }

    public func replace(with keys: StaticKeyProvider) {
        current.withLock { $0 = keys }
    }

    public var defaultKeyId: String { current.withLock { $0.defaultKeyId } }
    public func activeKey(id: String) throws -> MasterKey { try current.withLock { try $0.activeKey(id: id) } }
    public func key(id: String, version: UInt32) throws -> MasterKey { try current.withLock { try $0.key(id: id, version: version) } }
}
