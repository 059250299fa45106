import Logging
import SluiceTestSupport
import Synchronization
import Testing
@testable import SluiceStorage

/// A failure repeated thousands of times a second logs one line per interval, and that
/// line says how many it held back.
@Suite struct LogRateLimitTests {
    @Test func oneLinePerIntervalWithTheCountHeldBack() {
        let captured = CapturedLog()
        let limit = LogRateLimit(interval: .seconds(10))
        let start = ContinuousClock.now
        for k in 0..<2_626 {
            limit.log(captured.logger, .error, "append failed", now: start + .milliseconds(k))
        }
        limit.log(captured.logger, .error, "append failed", now: start + .seconds(11))
        let lines = captured.messages.withLock { $0 }
        #expect(lines.count == 2)
        #expect(!lines[0].contains("suppressed_since_last"))
        #expect(lines[1].contains("suppressed_since_last=2625"))
    }
}
