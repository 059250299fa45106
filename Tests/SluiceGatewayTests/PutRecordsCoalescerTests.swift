import SluiceEngine
import Synchronization
import Testing
@testable import SluiceGateway

@Suite struct PutRecordsCoalescerTests {
    /// Puts from many lanes within the linger share calls; a full call goes at once; each
    /// caller gets exactly its own records' outcomes.
    @Test func sharesCallsAndHandsEachCallerItsOutcomes() async throws {
        let calls = Mutex<[[String]]>([])
        let coalescer = PutRecordsCoalescer(linger: .milliseconds(50), maxRecords: 10, maxBytes: 1 << 20) { _, records in
            calls.withLock { $0.append(records.map(\.partitionKey)) }
            // Every record whose key ends in "x" is refused.
            return records.map { $0.partitionKey.hasSuffix("x") ? .failed(EngineError(.provisionedThroughputExceeded, "slow down")) : .stored }
        }
        let results = await withTaskGroup(of: (Int, [Bool]).self) { group in
            for lane in 0..<6 {
                group.addTask {
                    let records = [PutRecordInput(partitionKey: "l\(lane)-a", data: [1]), PutRecordInput(partitionKey: "l\(lane)-\(lane == 3 ? "x" : "b")", data: [2])]
                    let outcomes = try! await coalescer.put(stream: "s", records: records)
                    return (lane, outcomes.map(\.isStored))
                }
            }
            var all: [Int: [Bool]] = [:]
            for await (lane, stored) in group { all[lane] = stored }
            return all
        }
        for lane in 0..<6 { #expect(results[lane] == [true, lane != 3]) }
        let made = calls.withLock { $0 }
        #expect(made.count == 2)  // 12 records: one full call of 10 (sent at once) and the rest after the linger
        #expect(made.map(\.count).sorted() == [2, 10])
        #expect(made.allSatisfy { call in stride(from: 0, to: call.count, by: 2).allSatisfy { call[$0].hasSuffix("-a") } })
    }

    @Test func aFailedCallFailsEveryCallerInIt() async {
        struct Down: Error {}
        let coalescer = PutRecordsCoalescer(linger: .milliseconds(10), maxRecords: 500, maxBytes: 1 << 20) { _, _ in throw Down() }
        await #expect(throws: Down.self) { try await coalescer.put(stream: "s", records: [PutRecordInput(partitionKey: "k", data: [1])]) }
    }
}
