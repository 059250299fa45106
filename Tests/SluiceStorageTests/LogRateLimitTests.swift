import Logging
import Synchronization
import Testing
@testable import SluiceStorage

/// A failure repeated thousands of times a second logs one line per interval, and that
/// line says how many it held back.
@Suite struct LogRateLimitTests {
    final class Lines: LogHandler, @unchecked Sendable {
        let lines = Mutex<[(String, Logger.Metadata?)]>([])
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            lines.withLock { $0.append(("\(message)", metadata)) }
        }
    }

    @Test func oneLinePerIntervalWithTheCountHeldBack() {
        let handler = Lines()
        let logger = Logger(label: "t") { _ in handler }
        let limit = LogRateLimit(interval: .seconds(10))
        let start = ContinuousClock.now
        for k in 0..<2_626 {
            limit.log(logger, .error, "append failed", now: start + .milliseconds(k))
        }
        limit.log(logger, .error, "append failed", now: start + .seconds(11))
        let lines = handler.lines.withLock { $0 }
        #expect(lines.count == 2)
        #expect(lines[0].1?["suppressed_since_last"] == nil)
        #expect(lines[1].1?["suppressed_since_last"] == "2625")
    }
}
