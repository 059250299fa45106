import Foundation
import Logging
import SluiceEngine
import SluiceStorage
import SluiceTestSupport
import Synchronization
import Testing
@testable import SluiceFunctions

/// A handler that checks, as calls overlap, that no partition key is in two batches at
/// once, and keeps each key's sequence numbers in the order it saw them.
final class LaneCheckingHandler: FunctionHandler {
    struct State {
        var inFlight: Set<String> = []
        var overlaps = 0
        var running = 0
        var maxRunning = 0
        var seen: [String: [String]] = [:]
        var calls = 0
    }

    let state = Mutex(State())
    /// Calls past this number never return (a hung handler), until cancelled.
    let hangAfter: Int

    init(hangAfter: Int = .max) {
        self.hangAfter = hangAfter
    }

    func invoke(_ invocation: Invocation) async -> InvocationResult {
        let object = (try? JSONSerialization.jsonObject(with: Data(invocation.event))) as? [String: Any] ?? [:]
        let records = (object["Records"] as? [[String: Any]] ?? []).compactMap { $0["kinesis"] as? [String: Any] }
        let keys = records.map { $0["partitionKey"] as? String ?? "" }
        let number = state.withLock { s -> Int in
            s.calls += 1
            if !s.inFlight.isDisjoint(with: keys) { s.overlaps += 1 }
            s.inFlight.formUnion(keys)
            s.running += 1
            s.maxRunning = max(s.maxRunning, s.running)
            return s.calls
        }
        if number > hangAfter {
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
        }
        // Give the other lanes time to overlap with this call.
        try? await Task.sleep(for: .milliseconds(2))
        let hung = number > hangAfter
        state.withLock { s in
            s.inFlight.subtract(keys)
            s.running -= 1
            guard !hung else { return }
            for record in records { s.seen[record["partitionKey"] as? String ?? "", default: []].append(record["sequenceNumber"] as? String ?? "") }
        }
        return .answered([])
    }

    func shutdown() async {}
}

@Suite("FunctionRunner: lanes, filters, concurrency and positions on a real engine")
struct FunctionRunnerTests {
    let tmp = TemporaryDirectory("sluice-functions")

    var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    func engine() throws -> StreamEngine {
        var options = EngineOptions()
        options.enforceWriteLimits = false
        options.enforceReadLimits = false
        let engine = try StreamEngine(dataDirectory: tmp.path + "/data", options: options, logger: logger)
        if (try? engine.catalog.metadata(of: "s")) == nil { try engine.catalog.createStream(name: "s", shardCount: 1) }
        return engine
    }

    func put(_ engine: StreamEngine, _ count: Int, keys: Int, data: (Int) -> String = { "{\"n\":\($0)}" }) async throws {
        for chunk in stride(from: 0, to: count, by: 500) {
            let records = (chunk..<min(count, chunk + 500)).map { PutRecordInput(partitionKey: "key-\($0 % keys)", data: Array(data($0).utf8)) }
            _ = try await engine.writer.ingest(stream: "s", records: records)
        }
    }

    func runner(_ engine: StreamEngine, _ handler: any FunctionHandler, _ configure: (inout FunctionSettings) -> Void) throws -> FunctionRunner {
        var settings = FunctionSettings(name: "fn", stream: "s", handler: .command(["/bin/true"]))
        configure(&settings)
        let consumer = try engine.reader.durableConsumer(stream: "s", name: settings.consumerName, logger: logger)
        return FunctionRunner(settings: settings, consumer: consumer, handler: handler, failureSink: nil, logger: logger, pause: { _ in })
    }

    /// Yields until `condition` holds; fails after 30 s instead of hanging.
    func eventually(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            try #require(ContinuousClock.now < deadline, "timed out waiting: \(what)")
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test("parallelization 4: batches of different keys run at once, one key never in two, each key in order; the position reaches the end")
    func lanesKeepKeysInOrder() async throws {
        let engine = try engine()
        try await put(engine, 3000, keys: 40)
        let handler = LaneCheckingHandler()
        let function = try runner(engine, handler) {
            $0.parallelizationFactor = 4
            $0.batchSize = 25
        }
        let running = Task { await function.run() }
        try await eventually("all records processed and committed") {
            function.status().succeededRecords == 3000 && function.consumer.status().shards.allSatisfy { $0.recordsBehind == 0 }
        }
        running.cancel()
        await running.value
        let state = handler.state.withLock { $0 }
        #expect(state.overlaps == 0)
        #expect(state.maxRunning > 1, "lanes ran one at a time")
        #expect(state.seen.values.reduce(0) { $0 + $1.count } == 3000)
        for (key, sequences) in state.seen {
            #expect(sequences == sequences.sorted { $0.count == $1.count ? $0 < $1 : $0.count < $1.count }, "\(key) out of order")
        }
    }

    @Test("reserved_concurrency 1 holds four lanes to one call at a time and counts the waits as throttles")
    func reservedConcurrency() async throws {
        let engine = try engine()
        try await put(engine, 400, keys: 16)
        let handler = LaneCheckingHandler()
        let function = try runner(engine, handler) {
            $0.parallelizationFactor = 4
            $0.batchSize = 10
            $0.reservedConcurrency = 1
        }
        let running = Task { await function.run() }
        try await eventually("all records processed") { function.status().succeededRecords == 400 }
        running.cancel()
        await running.value
        #expect(handler.state.withLock { $0.maxRunning } == 1)
        #expect(function.status().throttles > 0)
    }

    @Test("filtered records are counted, never run, and the position moves past them")
    func filtersSkipAndCommit() async throws {
        let engine = try engine()
        try await put(engine, 1000, keys: 10) { "{\"level\":\"\($0 % 10 == 0 ? "alarm" : "info")\",\"n\":\($0)}" }
        let handler = LaneCheckingHandler()
        let function = try runner(engine, handler) {
            $0.filters = [try! FilterPattern(#"{"data": {"level": ["alarm"]}}"#)]
        }
        let running = Task { await function.run() }
        try await eventually("all records filtered or processed and committed") {
            function.status().filteredOutRecords == 900 && function.status().succeededRecords == 100
                && function.consumer.status().shards.allSatisfy { $0.recordsBehind == 0 }
        }
        running.cancel()
        await running.value
        #expect(handler.state.withLock { $0.seen.keys.sorted() } == ["key-0"])
    }

    @Test("a stop mid-run keeps the position at what finished; the next run goes on from there, repeats at most the batch in flight, misses nothing")
    func restartResumes() async throws {
        let engine = try engine()
        try await put(engine, 1000, keys: 7)
        let first = LaneCheckingHandler(hangAfter: 6)
        let function = try runner(engine, first) { $0.batchSize = 50 }
        let running = Task { await function.run() }
        try await eventually("the handler hangs") { first.state.withLock { $0.calls } > 6 }
        running.cancel()
        await running.value
        let done = first.state.withLock { $0.seen.values.reduce(0) { $0 + $1.count } }
        let committed = try function.consumer.position(of: 0)
        #expect(committed <= UInt64(done), "the position moved past records that did not finish")

        let second = LaneCheckingHandler()
        let again = try runner(engine, second) { $0.batchSize = 50 }
        let rerun = Task { await again.run() }
        try await eventually("the rest processed") { again.consumer.status().shards.allSatisfy { $0.recordsBehind == 0 } }
        rerun.cancel()
        await rerun.value
        var all = Set<String>()
        for handler in [first, second] {
            for sequences in handler.state.withLock({ $0.seen.values }) { all.formUnion(sequences) }
        }
        #expect(all.count == 1000)
        let repeated = first.state.withLock { $0.seen.values.reduce(0) { $0 + $1.count } } + second.state.withLock { $0.seen.values.reduce(0) { $0 + $1.count } } - 1000
        // What ran after the last commit repeats: at most the batch in flight.
        #expect(repeated <= 50)
    }
}
