import SluiceEngine

/// One batch of a source's records, built and split by destination stream, with what
/// building them counted. Sources fill it and hand it to `SourceRecorder.store`.
public struct SourceBatch: Sendable {
    /// Records for the source's stream.
    public var main: [PutRecordInput] = []
    /// Records the parser refused, when the source has a `parse_error_stream`.
    public var errors: [PutRecordInput] = []
    /// Records read (stored, routed to the error stream or dropped).
    public var count = 0
    public var parseErrors = 0
    public var truncated = 0
    public var dropped = 0

    public init() {}

    /// Adds one built record: to `errors` when the parser refused it and there is an
    /// error stream, else to `main`.
    public mutating func add(_ built: RecordBuilder.Built, hasErrorStream: Bool) {
        count += 1
        if built.truncated { truncated += 1 }
        if built.parseError != nil {
            parseErrors += 1
            if hasErrorStream {
                errors.append(built.record)
                return
            }
        }
        main.append(built.record)
    }

    /// Counts a record read and left out (e.g. oversize under `on_oversize = "drop"`).
    public mutating func drop() {
        count += 1
        dropped += 1
    }
}
