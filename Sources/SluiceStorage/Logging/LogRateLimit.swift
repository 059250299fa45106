import Logging
import Synchronization

/// At most one log line per `interval` for a failure that can repeat thousands of times a
/// second (a full disk answering every append, a client flooding the listener); the line
/// that goes out says how many were held back since the last one.
///
/// Why: on ENOSPC each failed append logged its own line (2,626 lines, 271 per second),
/// which on an edge box fills the journal the disk has no room for.
public final class LogRateLimit: Sendable {
    let interval: Duration
    private let state = Mutex<(last: ContinuousClock.Instant?, suppressed: Int)>((nil, 0))

    public init(interval: Duration = .seconds(10)) {
        self.interval = interval
    }

    /// Logs `message` unless a line went out less than `interval` ago; then it is counted.
    public func log(_ logger: Logger, _ level: Logger.Level, _ message: @autoclosure () -> Logger.Message,
                    metadata: @autoclosure () -> Logger.Metadata = [:], now: ContinuousClock.Instant = .now,
                    file: String = #fileID, function: String = #function, line: UInt = #line) {
        let suppressed = state.withLock { s -> Int? in
            if let last = s.last, now - last < interval {
                s.suppressed += 1
                return nil
            }
            defer { s = (now, 0) }
            return s.suppressed
        }
        guard let suppressed else { return }
        var fields = metadata()
        if suppressed > 0 { fields["suppressed_since_last"] = "\(suppressed)" }
        // The caller's file, so the line names the caller's module as its source.
        logger.log(level: level, message(), metadata: fields, file: file, function: function, line: line)
    }
}
