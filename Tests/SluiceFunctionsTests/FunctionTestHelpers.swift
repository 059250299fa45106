import Foundation
import Logging
import SluiceStorage
import Synchronization
@testable import SluiceFunctions

/// A handler whose answer to each event is a function of the event's records: what the
/// processor's rules are tested against, without a process.
final class ScriptedHandler: FunctionHandler {
    struct Call: Sendable {
        var keys: [String]
        var sequenceNumbers: [String]
        var event: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(raw))) as? [String: Any] ?? [:] }
        var raw: [UInt8]
    }

    private let calls = Mutex<[Call]>([])
    let answer: @Sendable (_ call: Call, _ number: Int) -> InvocationResult

    init(answer: @escaping @Sendable (_ call: Call, _ number: Int) -> InvocationResult) {
        self.answer = answer
    }

    var made: [Call] { calls.withLock { $0 } }

    func invoke(_ invocation: Invocation) async -> InvocationResult {
        let object = (try? JSONSerialization.jsonObject(with: Data(invocation.event))) as? [String: Any] ?? [:]
        let records = (object["Records"] as? [[String: Any]] ?? []).map { $0["kinesis"] as? [String: Any] ?? [:] }
        let call = Call(keys: records.map { $0["partitionKey"] as? String ?? "" }, sequenceNumbers: records.map { $0["sequenceNumber"] as? String ?? "" }, raw: invocation.event)
        let number = calls.withLock { list -> Int in
            list.append(call)
            return list.count
        }
        return answer(call, number)
    }

    func shutdown() async {}
}

/// Failure records as they would be put into the on_failure stream.
final class CollectingSink: FailureSink {
    private let records = Mutex<[[UInt8]]>([])

    var delivered: [[String: Any]] {
        records.withLock { $0 }.map { (try? JSONSerialization.jsonObject(with: Data($0))) as? [String: Any] ?? [:] }
    }

    func deliver(_ record: [UInt8], partitionKey: String) async throws {
        records.withLock { $0.append(record) }
    }
}

enum FunctionFixtures {
    static func settings(_ configure: (inout FunctionSettings) -> Void = { _ in }) -> FunctionSettings {
        var settings = FunctionSettings(name: "fn", stream: "events", handler: .command(["/bin/true"]))
        configure(&settings)
        return settings
    }

    /// Records with keys k0, k1, ... at offsets 0..., one second apart from `startMillis`.
    static func records(_ count: Int, startMillis: Int64 = 1_700_000_000_000, data: (Int) -> String = { "{\"n\":\($0)}" }) -> [StoredRecord] {
        (0..<count).map { StoredRecord(offset: UInt64($0), timestampMillis: startMillis + Int64($0) * 1000, partitionKey: "k\($0)", data: Array(data($0).utf8)) }
    }

    static func processor(_ settings: FunctionSettings, handler: ScriptedHandler, sink: CollectingSink, now: Int64 = 1_700_000_100_000, expiredBelow: UInt64 = 0) -> BatchProcessor {
        BatchProcessor(
            settings: settings, event: KinesisEvent(settings: settings), handler: handler, sink: sink, hasFailureDestination: true, metrics: FunctionMetrics(function: settings.name),
            limit: nil, clock: { now }, pause: { _ in }, isExpired: { _, offset in offset < expiredBelow },
            logger: Logger(label: "test"), failureLog: LogRateLimit()
        )
    }
}
