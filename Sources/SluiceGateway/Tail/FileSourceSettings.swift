/// One `[[sources.file]]` entry, validated.
public struct FileSourceSettings: Sendable {
    /// Names the checkpoint file; stable across restarts and config reorders.
    public var name: String
    public var stream: String
    /// Glob patterns (`*`, `?`, `[...]`); files matching later are picked up while running.
    public var paths: [String]
    public var builder: RecordBuilder
    /// Paths matching these globs are never tailed: by default compressed rotations,
    /// which a pattern like `app.log*` would otherwise pick up.
    public var exclude = FileSourceSettings.defaultExclude
    public static let defaultExclude = ["*.gz", "*.bz2", "*.xz", "*.zst", "*.zip"]
    /// For files seen the first time on the source's very first start: begin at their end
    /// (only new lines) instead of their beginning. Files that appear later, and files
    /// whose checkpoint is known, are unaffected.
    public var startAtEnd = false
    /// A regex; a line matching it starts a record, other lines continue the current one.
    public var multilineStart: String?
    /// A gathered multi-line record is emitted when no line came for this long.
    public var multilineFlush: Duration = .seconds(1)
    /// A record longer than this keeps its head and ends with `truncationMarker`.
    public var maxRecordBytes = 1_048_576 - 256
    public var truncationMarker = Array("...[truncated]".utf8)
    /// Lines the parser rejects go to this stream instead (with `parse_error`), when set.
    public var parseErrorStream: String?
    /// Rescan the globs this often (inotify wakes it sooner on changes).
    public var pollInterval: Duration = .seconds(1)
    /// A file renamed away (rotated) is read until it has not grown for this long.
    public var rotateWait: Duration = .seconds(5)
    public var readChunkBytes = 1 << 20
    /// Records (or bytes) read before they are submitted and checkpointed together: larger
    /// batches share one fsync; a crash re-sends at most one batch per file.
    public var batchRecords = 5_000
    public var batchBytes = 4 << 20
    /// Whether records carry their origin (RecordOrigin), which is what stores every line
    /// once across a crash. Always on in sluiced; off only as the tail benchmark's
    /// baseline, to measure what origins cost in the same run.
    public var recordOrigins = true

    public init(name: String, stream: String, paths: [String], builder: RecordBuilder) {
        self.name = name
        self.stream = stream
        self.paths = paths
        self.builder = builder
    }
}
