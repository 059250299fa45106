import FoundationEssentials
import Logging
import SluiceEngine
import SluiceStorage
import Synchronization

/// Closed buffers as objects in a store: named, framed and compressed as OBJECTS.md says,
/// and put again after a failure (with backoff, for as long as it takes: the records wait
/// in the local stream meanwhile), so an object target never gives a record up.
public final class ObjectTarget: DeliveryTarget {
    public let store: any ObjectStore
    let prefix: ObjectPrefix
    let framing: RecordFraming
    let compression: Compression
    /// `<stream>-<export>-`, the start of every object name.
    let namePrefix: String
    let backoff: Backoff
    let logger: Logger
    private let state = Mutex<(last: String?, failure: String?)>((nil, nil))
    private let failureLog = LogRateLimit()

    public init(store: any ObjectStore, prefix: ObjectPrefix, framing: RecordFraming, compression: Compression, namePrefix: String,
                backoff: Backoff = Backoff(base: .seconds(1), cap: .seconds(120)), logger: Logger) {
        self.store = store
        self.prefix = prefix
        self.framing = framing
        self.compression = compression
        self.namePrefix = namePrefix
        self.backoff = backoff
        self.logger = logger
    }

    /// `<stream>-<export>-`, each name one path component.
    public static func namePrefix(stream: String, export: String) -> String {
        "\(PathComponent.encode(stream))-\(PathComponent.encode(export))-"
    }

    public var description: String { store.description }
    public var metricName: String { store.metricName }
    public var lastDelivered: String? { state.withLock { $0.last } }
    public var failure: String? { state.withLock { $0.failure } }

    /// `PREFIX<stream>-<export>-<yyyy-MM-dd-HH-mm-ss>-<uuid><ext>`.
    func key(for buffer: ClosedBuffer) -> String {
        var random = SystemRandomNumberGenerator()
        let time = UTCTime(millis: buffer.firstArrival)
        let stamp = "\(time.padded(time.year, 4))-\(time.padded(time.month, 2))-\(time.padded(time.day, 2))-\(time.padded(time.hour, 2))-\(time.padded(time.minute, 2))-\(time.padded(time.second, 2))"
        return prefix.render(arrivalMillis: buffer.firstArrival, partition: buffer.partition, errorOutputType: buffer.errorOutputType, using: &random)
            + "\(namePrefix)\(stamp)-\(UUID().uuidString.lowercased())\(compression.fileExtension)"
    }

    /// The object's content before compression.
    func content(of buffer: ClosedBuffer) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(buffer.byteCount + buffer.records.count)
        for item in buffer.records { framing.append(item.record, shardIndex: item.shardIndex, to: &bytes) }
        return bytes
    }

    public func deliver(_ buffer: ClosedBuffer) async throws -> [FailedRecord] {
        let key = key(for: buffer)
        let content = try compression.compress(content(of: buffer))
        var attempt = 0
        while true {
            do {
                try await store.put(key: key, content: content)
                state.withLock { $0 = (key, nil) }
                return []
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                state.withLock { $0.failure = "\(error)" }
                failureLog.log(logger, .error, "putting an object failed; its records stay in the local stream and it is put again", metadata: [
                    "store": "\(store.description)", "object": "\(key)", "error": "\(error)",
                ])
                try await backoff.sleep(attempt: attempt)
                attempt += 1
            }
        }
    }

    public func prepare() async throws { try await store.removeLeftovers() }

    public func shutdown() async { await store.shutdown() }
}
