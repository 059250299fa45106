import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceGateway

@Suite struct ShardRateLimiterTests {
    /// A producer offering more than the limit every millisecond: in no one-second window
    /// does more than the limit pass, and over a minute it runs close to the limit.
    @Test func noOneSecondWindowExceedsTheLimit() {
        let clock = ManualTimeSource()
        let limiter = ShardRateLimiter(rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 1000), clock: clock)
        var random = SeededRandom(seed: 7)
        var admitted: [(ms: Int, bytes: Int)] = []
        for ms in 0..<60_000 {
            let sizes = (0..<3).map { _ in 200 + Int(random.next() % 2000) }
            let n = limiter.admit(sizes: sizes)
            admitted += sizes.prefix(n).map { (ms, $0) }
            clock.advance(millis: 1)
        }
        var worstBytes = 0
        var worstRecords = 0
        var start = 0
        var bytes = 0
        for end in admitted.indices {
            bytes += admitted[end].bytes
            while admitted[end].ms - admitted[start].ms >= 1000 {
                bytes -= admitted[start].bytes
                start += 1
            }
            worstBytes = max(worstBytes, bytes)
            worstRecords = max(worstRecords, end - start + 1)
        }
        #expect(worstBytes <= 1 << 20)
        #expect(worstRecords <= 1000)
        let totalBytes = admitted.reduce(0) { $0 + $1.bytes }
        let perSecond = Double(totalBytes) / 60 / Double(1 << 20)
        #expect(perSecond > 0.97, "ran at \(perSecond) of the byte limit")
    }

    @Test func aRecordAsBigAsTheLimitPassesAndFillsTheWindow() {
        let clock = ManualTimeSource()
        let limiter = ShardRateLimiter(rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 1000), clock: clock)
        #expect(limiter.admit(sizes: [1 << 20]) == 1)
        #expect(limiter.admit(sizes: [10]) == 0)
        #expect(limiter.delay(forSize: 10) > .milliseconds(900))
        clock.advance(millis: 1100)
        #expect(limiter.admit(sizes: [10]) == 1)
    }
}

@Suite struct AggregatingLimiterTests {
    /// With aggregation the record limit counts the Kinesis records the user records are
    /// packed into, so 5,000 small user records pass where 1,000 records/s would stop them.
    @Test func countsAggregatedRecordsAgainstTheRecordLimit() {
        let clock = ManualTimeSource()
        let limiter = ShardRateLimiter(rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 10), aggregateBytes: 1000, clock: clock)
        #expect(limiter.admit(sizes: Array(repeating: 100, count: 95)) == 95)  // 10 aggregated records of ≤ 1000 B
        #expect(limiter.admit(sizes: [100]) == 0)
        let plain = ShardRateLimiter(rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 10), clock: clock)
        #expect(plain.admit(sizes: Array(repeating: 100, count: 95)) == 10)
    }
}
