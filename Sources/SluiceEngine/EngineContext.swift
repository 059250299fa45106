import Logging
import SluiceStorage

/// What every part of the engine shares and none owns: where the data lives, the options,
/// the file-system and clock seams, the logger and the commit journal. Immutable; each part
/// (catalog, writer, reader, resharder, fan-out, autoscaler) owns its own state.
struct EngineContext: Sendable {
    let dataDirectory: String
    let options: EngineOptions
    let fs: any FileSystem
    let clock: any TimeSource
    let logger: Logger
    /// Shared by every shard's log: one fdatasync for small flushes across shards (nil
    /// when `options.commitJournal` is off).
    let journal: CommitJournal?
    /// Failed appends repeat as fast as clients retry: one line per 10 s at most.
    let failureLog = LogRateLimit()

    var streamsDirectory: String { dataDirectory + "/streams" }
    var trashDirectory: String { dataDirectory + "/trash" }
    var accountId: String { options.accountId }

    /// ResourceNotFoundException for a stream, in Kinesis' words.
    func streamNotFound(_ name: String) -> EngineError {
        EngineError(.resourceNotFound, "Stream \(name) under account \(accountId) not found.")
    }
}
