import Testing
import SluiceStorage
@testable import SluiceEngine

@Suite struct TokenBucketTests {
    @Test func burstsToCapacityThenRefillsAtRate() {
        var bucket = TokenBucket(rate: 1000, now: 0)
        let all = bucket.take(1000, now: 0)
        let none = bucket.take(1, now: 0)
        let almost = bucket.take(1, now: 999_999) // 0.999 tokens after 999.999 µs
        let one = bucket.take(1, now: 1_000_000)
        let wait = bucket.wait(for: 500, now: 1_000_000)
        let full = bucket.available(now: 10_000_000_000)
        #expect(all && !none && !almost && one)
        #expect(wait == 500_000_000)
        #expect(full == 1000)
    }

    @Test func shardLimiterAdmitsAPrefixAndFollowsTheClock() {
        let clock = ManualTimeSource()
        let limiter = ShardWriteLimiter(bytesPerSecond: 1 << 20, recordsPerSecond: 1000, enabled: true, clock: clock)
        #expect(limiter.admit(sizes: Array(repeating: 100, count: 999)) == 999)
        #expect(limiter.admit(sizes: [100, 100, 100]) == 1)
        clock.advance(millis: 1000)
        #expect(limiter.admit(sizes: [1 << 20]) == 1)
        #expect(limiter.admit(sizes: [10, 10]) == 0)
        // A refused record stops the rest, even ones that would fit.
        clock.advance(millis: 500)
        #expect(limiter.admit(sizes: [600_000, 10]) == 0)
    }

    @Test func disabledLimiterAdmitsEverything() {
        let limiter = ShardWriteLimiter(bytesPerSecond: 1, recordsPerSecond: 1, enabled: false, clock: ManualTimeSource())
        #expect(limiter.admit(sizes: Array(repeating: 1 << 20, count: 50)) == 50)
    }
}
