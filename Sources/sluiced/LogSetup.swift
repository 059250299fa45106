import FoundationEssentials
import Logging
import SluiceConfiguration
import SluiceSystemd
import Synchronization

/// The log level every handler reads, so a reload can change it for loggers that exist.
final class LogLevelSwitch: Sendable {
    private let level: Mutex<Logger.Level>
    init(_ level: Logger.Level) { self.level = Mutex(level) }
    var current: Logger.Level { level.withLock { $0 } }
    func set(_ new: Logger.Level) { level.withLock { $0 = new } }
}

/// Wraps a handler so its level follows the switch, unless this one logger's level was
/// set explicitly (which must not change every other logger's).
struct SwitchedLogHandler: LogHandler {
    var inner: any LogHandler
    let levels: LogLevelSwitch
    var override: Logger.Level?

    init(inner: any LogHandler, levels: LogLevelSwitch) {
        self.inner = inner
        self.levels = levels
    }

    var logLevel: Logger.Level {
        get { override ?? levels.current }
        set { override = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        inner.log(event: event)
    }
}

enum LogSetup {
    /// Logs go to the journal, with structured fields, when systemd connected stderr to it
    /// (JOURNAL_STREAM); otherwise to stderr as text.
    static func bootstrap(level: Logger.Level, environment: [String: String]) -> LogLevelSwitch {
        let levels = LogLevelSwitch(level)
        if JournalLogHandler.shouldUse(environment: environment) {
            let socket = JournalSocket(path: environment["SLUICE_JOURNAL_SOCKET"] ?? JournalLogHandler.defaultSocket)
            LoggingSystem.bootstrap { SwitchedLogHandler(inner: JournalLogHandler(label: $0, socket: socket), levels: levels) }
        } else {
            LoggingSystem.bootstrap { SwitchedLogHandler(inner: StreamLogHandler.standardError(label: $0), levels: levels) }
        }
        return levels
    }
}
