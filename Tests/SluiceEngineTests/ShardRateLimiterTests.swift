import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceEngine

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

    /// After a restart the meter counts what the shard stored in its last second: a window
    /// spanning the restart holds at most the limit.
    @Test func aSeededMeterCountsTheSecondBeforeARestart() {
        let clock = ManualTimeSource()
        let limiter = ShardRateLimiter(rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 1000), clock: clock)
        let now = clock.nowMillis()
        // 700 records stored 400 ms before the start, 200 more 100 ms before; one older than a window.
        let arrivals = Array(repeating: Arrival(millis: now - 400, bytes: 100), count: 700)
            + Array(repeating: Arrival(millis: now - 100, bytes: 100), count: 200) + [Arrival(millis: now - 2_000, bytes: 100)]
        limiter.seed(RecentArrivals(arrivals: arrivals, nowMillis: now))
        #expect(limiter.admit(sizes: Array(repeating: 100, count: 500)) == 100)
        // The 700 come back one window after they arrived (605 ms on), the 200 later.
        clock.advance(millis: 604)
        #expect(limiter.admit(sizes: [100]) == 0)
        clock.advance(millis: 1)
        #expect(limiter.admit(sizes: Array(repeating: 100, count: 1000)) == 700)
        clock.advance(millis: 300)
        #expect(limiter.admit(sizes: Array(repeating: 100, count: 1000)) == 200)
    }

    /// Arrival times read back from a damaged or crafted log never trap the seeding.
    @Test func seedingSurvivesExtremeArrivalTimes() {
        let clock = ManualTimeSource()
        let limiter = ShardRateLimiter(rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 1000), clock: clock)
        let odd = [Int64.min, Int64.max, -1, 0, clock.nowMillis() + 10_000_000].map { Arrival(millis: $0, bytes: Int.max / 4) }
        limiter.seed(RecentArrivals(arrivals: odd, nowMillis: clock.nowMillis()))
        limiter.seed(RecentArrivals(arrivals: odd, nowMillis: .min))
        limiter.seed(RecentArrivals(arrivals: odd, nowMillis: .max))
        // The arrivals "in the future" count as arriving now (a frame's 16 MiB at most each):
        // the window is full; the rest were skipped.
        #expect(limiter.admit(sizes: [1]) == 0)
        clock.advance(millis: 1_005)
        #expect(limiter.admit(sizes: [1]) == 1)
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

@Suite struct LimiterTicketTests {
    /// Two tasks admit to one limiter; the first to admit is stored last. Settling its
    /// ticket moves its tokens' return to when it was stored, so a record admitted right
    /// after the other's tokens came back still finds the window full.
    @Test func settlingATicketMovesThatAdmissionNotTheLatest() {
        let clock = ManualTimeSource()
        let limiter = ShardRateLimiter(rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 10), clock: clock)
        let first = limiter.admitWithTicket(sizes: Array(repeating: 1, count: 5))
        let second = limiter.admitWithTicket(sizes: Array(repeating: 1, count: 5))
        #expect(first.admitted == 5 && second.admitted == 5 && first.ticket != second.ticket)
        clock.advance(millis: 500)
        limiter.settle(ticket: first.ticket)  // the first call's answer came late
        clock.advance(millis: 600)  // 1.1 s after admission: the second's tokens are back
        #expect(limiter.admit(sizes: Array(repeating: 1, count: 10)) == 5)
        clock.advance(millis: 500)  // and 1.1 s after the first was stored, its tokens too
        #expect(limiter.admit(sizes: Array(repeating: 1, count: 10)) == 5)
    }
}
