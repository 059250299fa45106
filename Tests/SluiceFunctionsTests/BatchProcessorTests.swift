import Foundation
import SluiceEngine
import Testing
@testable import SluiceFunctions

@Suite("BatchProcessor: Lambda's retry, bisect, partial answer and age rules")
struct BatchProcessorTests {
    @Test("bisection isolates the one poison record; the others succeed; on_failure gets it alone")
    func bisectIsolatesPoison() async throws {
        let settings = FunctionFixtures.settings {
            $0.bisectBatchOnFunctionError = true
            $0.maximumRetryAttempts = 2
        }
        let handler = ScriptedHandler { call, _ in
            call.keys.contains("k5") ? .failed(problem: "poison", statusCode: 200) : .answered([])
        }
        let sink = CollectingSink()
        var window: BatchProcessor.Window?
        let records = FunctionFixtures.records(8)
        try await FunctionFixtures.processor(settings, handler: handler, sink: sink).process(records[...], shard: 0, window: &window)

        // Every good record ran in a batch that succeeded; the poison one never did.
        let succeeded = handler.made.filter { !$0.keys.contains("k5") }.flatMap(\.keys)
        #expect(Set(succeeded) == Set((0..<8).map { "k\($0)" }).subtracting(["k5"]))
        // 8 -> 4 (k4..k7) -> 2 (k4,k5) -> 1 (k5) then 2 retries of it alone.
        let alone = handler.made.filter { $0.keys == ["k5"] }
        #expect(alone.count == 3)
        #expect(sink.delivered.count == 1)
        let failure = try #require(sink.delivered.first)
        let context = try #require(failure["requestContext"] as? [String: Any])
        #expect(context["condition"] as? String == "RetryAttemptsExhausted")
        #expect(context["approximateInvokeCount"] as? Int == 3)
        #expect((context["functionArn"] as? String)?.hasSuffix(":function:fn") == true)
        let info = try #require(failure["KinesisBatchInfo"] as? [String: Any])
        #expect(info["batchSize"] as? Int == 1)
        #expect(info["startSequenceNumber"] as? String == SequenceNumber(shardIndex: 0, offset: 5).description)
        #expect(info["endSequenceNumber"] as? String == SequenceNumber(shardIndex: 0, offset: 5).description)
        #expect(info["shardId"] as? String == "shardId-000000000000")
        #expect(info["approximateArrivalOfFirstRecord"] as? String == "2023-11-14T22:13:25.000Z")
        #expect((failure["responseContext"] as? [String: Any])?["functionError"] as? String == "Unhandled")
        #expect(failure["version"] as? String == "1.0")
    }

    @Test("without bisection a failing batch is retried whole, maximum_retry_attempts times, then given up on whole")
    func retriesThenGivesUp() async throws {
        let settings = FunctionFixtures.settings { $0.maximumRetryAttempts = 3 }
        let handler = ScriptedHandler { _, _ in .failed(problem: "boom", statusCode: 200) }
        let sink = CollectingSink()
        var window: BatchProcessor.Window?
        try await FunctionFixtures.processor(settings, handler: handler, sink: sink).process(FunctionFixtures.records(4)[...], shard: 2, window: &window)
        #expect(handler.made.count == 4)
        #expect(handler.made.allSatisfy { $0.keys == ["k0", "k1", "k2", "k3"] })
        let info = try #require(sink.delivered.first?["KinesisBatchInfo"] as? [String: Any])
        #expect(info["batchSize"] as? Int == 4)
        #expect(info["shardId"] as? String == "shardId-000000000002")
    }

    @Test("a partial batch response retries from the first failed record; an empty list is success")
    func partialAnswerRetriesFromFirstFailure() async throws {
        let settings = FunctionFixtures.settings { $0.reportBatchItemFailures = true }
        let handler = ScriptedHandler { call, number in
            // First call: k2 and k4 fail (k2 is the lowest); then all succeed.
            guard number == 1 else { return .answered(Array("{\"batchItemFailures\":[]}".utf8)) }
            return .answered(Array("{\"batchItemFailures\":[{\"itemIdentifier\":\"\(call.sequenceNumbers[4])\"},{\"itemIdentifier\":\"\(call.sequenceNumbers[2])\"}]}".utf8))
        }
        let sink = CollectingSink()
        var window: BatchProcessor.Window?
        try await FunctionFixtures.processor(settings, handler: handler, sink: sink).process(FunctionFixtures.records(6)[...], shard: 0, window: &window)
        #expect(handler.made.map(\.keys) == [["k0", "k1", "k2", "k3", "k4", "k5"], ["k2", "k3", "k4", "k5"]])
        #expect(sink.delivered.isEmpty)
    }

    @Test("a malformed partial answer fails the whole batch")
    func malformedPartialAnswerFailsBatch() async throws {
        let settings = FunctionFixtures.settings {
            $0.reportBatchItemFailures = true
            $0.maximumRetryAttempts = 1
        }
        let answers = ["{\"batchItemFailures\":[{\"itemIdentifier\":\"\"}]}", "{\"batchItemFailures\":[{\"itemIdentifier\":\"123\"}]}", "not json"]
        for answer in answers {
            let handler = ScriptedHandler { _, _ in .answered(Array(answer.utf8)) }
            let sink = CollectingSink()
            var window: BatchProcessor.Window?
            try await FunctionFixtures.processor(settings, handler: handler, sink: sink).process(FunctionFixtures.records(3)[...], shard: 0, window: &window)
            #expect(handler.made.count == 2, "\(answer)")
            #expect(handler.made.allSatisfy { $0.keys.count == 3 }, "\(answer)")
            #expect((sink.delivered.first?["KinesisBatchInfo"] as? [String: Any])?["batchSize"] as? Int == 3, "\(answer)")
        }
    }

    @Test("records older than maximum_record_age_seconds are given up on before a run, as RecordAgeExceeded")
    func ageLimit() async throws {
        let settings = FunctionFixtures.settings { $0.maximumRecordAgeSeconds = 60 }
        let handler = ScriptedHandler { _, _ in .answered([]) }
        let sink = CollectingSink()
        var window: BatchProcessor.Window?
        // Records 1 s apart from t0; now is t0 + 63 s: the first three are over 60 s old.
        let start: Int64 = 1_700_000_000_000
        try await FunctionFixtures.processor(settings, handler: handler, sink: sink, now: start + 63_000)
            .process(FunctionFixtures.records(6, startMillis: start)[...], shard: 0, window: &window)
        #expect(handler.made.map(\.keys) == [["k3", "k4", "k5"]])
        let context = try #require(sink.delivered.first?["requestContext"] as? [String: Any])
        #expect(context["condition"] as? String == "RecordAgeExceeded")
        #expect(context["approximateInvokeCount"] as? Int == 0)
        #expect((sink.delivered.first?["KinesisBatchInfo"] as? [String: Any])?["batchSize"] as? Int == 3)
        #expect((sink.delivered.first?["responseContext"] as? [String: Any])?["functionError"] == nil)
    }

    @Test("records the stream deleted while they waited are counted and skipped, not run")
    func expiredRecordsSkipped() async throws {
        let handler = ScriptedHandler { _, _ in .answered([]) }
        let sink = CollectingSink()
        var window: BatchProcessor.Window?
        let processor = FunctionFixtures.processor(FunctionFixtures.settings(), handler: handler, sink: sink, expiredBelow: 2)
        try await processor.process(FunctionFixtures.records(4)[...], shard: 0, window: &window)
        #expect(handler.made.map(\.keys) == [["k2", "k3"]])
        #expect(processor.metrics.snapshot.expired == 2)
    }

    @Test("a tumbling window carries the returned state; a missing state is a function error")
    func windowState() async throws {
        let settings = FunctionFixtures.settings {
            $0.tumblingWindowSeconds = 60
            $0.maximumRetryAttempts = 0
        }
        let handler = ScriptedHandler { call, number in
            let state = (call.event["state"] as? [String: Any])?["count"] as? Int ?? 0
            if number == 3 { return .answered(Array("{}".utf8)) }
            return .answered(Array("{\"state\":{\"count\":\(state + call.keys.count)}}".utf8))
        }
        let sink = CollectingSink()
        let processor = FunctionFixtures.processor(settings, handler: handler, sink: sink)
        var window: BatchProcessor.Window? = .init(startMillis: 1_700_000_000_000, endMillis: 1_700_000_060_000)
        let records = FunctionFixtures.records(5)
        try await processor.process(records[0..<2], shard: 0, window: &window)
        try await processor.process(records[2..<5], shard: 0, window: &window)
        #expect(String(decoding: window!.state, as: UTF8.self) == "{\"count\":5}")
        let event = handler.made[1].event
        #expect((event["window"] as? [String: Any])?["start"] as? String == "2023-11-14T22:13:20Z")
        #expect(event["isFinalInvokeForWindow"] as? Bool == false)
        #expect(event["shardId"] as? String == "shardId-000000000000")
        // Third call answers without state: a function error (given up on with no retries).
        try await processor.process(FunctionFixtures.records(1)[...], shard: 0, window: &window)
        #expect(sink.delivered.count == 1)
        #expect(String(decoding: window!.state, as: UTF8.self) == "{\"count\":5}")
        try await processor.finish(window!, shard: 0)
        let final = handler.made.last!.event
        #expect(final["isFinalInvokeForWindow"] as? Bool == true)
        #expect((final["Records"] as? [Any])?.isEmpty == true)
        #expect((final["state"] as? [String: Any])?["count"] as? Int == 5)
    }
}
