import SluiceEngine
import SluiceGateway
import SluiceStorage
import Synchronization

/// A gateway sink that answers by a script, record by record: `.store(n)` passes the next
/// n records to the real sink behind it, `.refuse(n, kind)` answers the next n with that
/// error (throttling, an outage); once the script is done every record is refused as if
/// the process had stopped. What a test needs to put a drain or a direct put exactly where
/// it wants it.
public final class ScriptedSink: GatewaySink {
    public enum Step: Sendable {
        case store(Int)
        case refuse(Int, EngineError.Kind)
    }

    let inner: any GatewaySink
    private let script: Mutex<[Step]>
    private let done = AsyncStream<Void>.makeStream()

    public init(_ inner: any GatewaySink, script: [Step]) {
        self.inner = inner
        self.script = Mutex(script)
    }

    /// Returns once a put found the script done.
    public func exhausted() async {
        for await _ in done.stream { return }
    }

    public func shardMap(stream: String) async throws -> ShardMap { try await inner.shardMap(stream: stream) }
    public func shardMapVersion(stream: String) async throws -> UInt64 { try await inner.shardMapVersion(stream: stream) }
    public func recentArrivals(stream: String, shardIndex: Int) async -> RecentArrivals { await inner.recentArrivals(stream: stream, shardIndex: shardIndex) }
    public func highWater(stream: String, shardIndex: Int, sinceMillis: Int64, producers: Set<UInt64>) async throws -> [UInt64: UInt64] {
        try await inner.highWater(stream: stream, shardIndex: shardIndex, sinceMillis: sinceMillis, producers: producers)
    }
    public func storedOrigins(stream: String, shardIndex: Int, andLaterShards: Bool, sinceMillis: Int64, among wanted: Set<RecordOrigin>) async throws -> Set<RecordOrigin> {
        try await inner.storedOrigins(stream: stream, shardIndex: shardIndex, andLaterShards: andLaterShards, sinceMillis: sinceMillis, among: wanted)
    }

    public func put(stream: String, records: [PutRecordInput], routedTo route: ShardRoute?) async throws -> [SinkOutcome] {
        // What the script says for each record of this put, taken from it at once.
        let answers = script.withLock { steps -> [EngineError.Kind?] in
            records.map { _ -> EngineError.Kind? in
                while let step = steps.first {
                    switch step {
                    case .store(let n) where n > 0:
                        steps[0] = .store(n - 1)
                        return nil
                    case .refuse(let n, let kind) where n > 0:
                        steps[0] = .refuse(n - 1, kind)
                        return kind
                    default:
                        steps.removeFirst()
                    }
                }
                return .internalFailure
            }
        }
        if script.withLock({ $0.isEmpty }) || answers.last == .internalFailure { done.continuation.yield() }
        var outcomes: [SinkOutcome] = []
        var k = 0
        while k < records.count {
            if answers[k] == nil {
                var end = k
                while end < records.count, answers[end] == nil { end += 1 }
                outcomes += try await inner.put(stream: stream, records: Array(records[k..<end]), routedTo: route)
                k = end
            } else {
                outcomes.append(.failed(EngineError(answers[k]!, "refused by the test's script")))
                k += 1
            }
        }
        return outcomes
    }
}
