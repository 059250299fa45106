/// A record cut from a file: its bytes (newline removed) and the file offset just past it.
struct AssembledRecord {
    var bytes: [UInt8]
    var truncated: Bool
    var endOffset: Int64
}

/// Cuts a file's bytes into records: one per line, or with a start pattern, one per group
/// of lines beginning with a line that matches it (stack traces stay whole). A record over
/// `maxBytes` keeps its head and ends with the truncation marker; the rest of it is
/// skipped without being buffered, so one endless line cannot exhaust memory.
struct LineAssembler {
    let maxBytes: Int
    let marker: [UInt8]
    let startPattern: Regex<AnyRegexOutput>?

    /// The line being read (no newline seen yet), where it began, and whether it is
    /// already cut.
    private var line: [UInt8] = []
    private var lineStart: Int64
    private var lineTruncated = false
    /// The multi-line record being gathered: its lines joined with "\n".
    private var record: [UInt8]?
    private var recordStart: Int64 = 0
    private var recordEnd: Int64 = 0
    private var recordTruncated = false
    /// Counts the lines joined into gathered records: the caller notes when it changes to
    /// time the flush timeout on its own clock.
    private(set) var recordGrowth: UInt64 = 0

    init(maxBytes: Int, marker: [UInt8], startPattern: Regex<AnyRegexOutput>?, offset: Int64) {
        self.maxBytes = max(maxBytes, marker.count + 1)
        self.marker = marker
        self.startPattern = startPattern
        self.lineStart = offset
    }

    /// The earliest offset whose bytes are not yet in an emitted record: where a restart
    /// must read from.
    var resumeOffset: Int64 { record != nil ? recordStart : lineStart }

    var hasPartialLine: Bool { !line.isEmpty || lineTruncated }
    var hasPendingRecord: Bool { record != nil }

    /// Feeds bytes read at `offset` (contiguous with what came before).
    mutating func feed(_ chunk: ArraySlice<UInt8>, at offset: Int64, emit: (AssembledRecord) -> Void) {
        var start = chunk.startIndex
        while start < chunk.endIndex {
            let newline = chunk[start...].firstIndex(of: UInt8(ascii: "\n"))
            let end = newline ?? chunk.endIndex
            append(chunk[start..<end])
            guard let newline else { return }
            let lineEnd = offset + Int64(newline - chunk.startIndex) + 1
            finishLine(endOffset: lineEnd, emit: emit)
            start = newline + 1
        }
    }

    private mutating func append(_ bytes: ArraySlice<UInt8>) {
        guard !lineTruncated, !bytes.isEmpty else { return }
        let room = maxBytes - line.count
        if bytes.count <= room {
            line += bytes
        } else {
            line += bytes.prefix(max(0, maxBytes - marker.count - line.count))
            line.removeLast(max(0, line.count - (maxBytes - marker.count)))
            line += marker
            lineTruncated = true
        }
    }

    private mutating func finishLine(endOffset: Int64, emit: (AssembledRecord) -> Void) {
        var text = line
        let truncated = lineTruncated
        line = []
        lineTruncated = false
        defer { lineStart = endOffset }
        if text.last == UInt8(ascii: "\r") { text.removeLast() }
        guard let startPattern else {
            if !text.isEmpty { emit(AssembledRecord(bytes: text, truncated: truncated, endOffset: endOffset)) }
            return
        }
        let isStart = String(decoding: text, as: UTF8.self).firstMatch(of: startPattern) != nil
        if isStart || record == nil {
            flushRecord(emit: emit)
            guard !text.isEmpty else { return }
            record = text
            recordStart = lineStart
            recordTruncated = truncated
        } else if !recordTruncated {
            var joined = record!
            joined.append(UInt8(ascii: "\n"))
            joined += text
            if joined.count > maxBytes {
                joined = Array(joined.prefix(maxBytes - marker.count)) + marker
                recordTruncated = true
            }
            record = joined
            recordTruncated = recordTruncated || truncated
        }
        recordEnd = endOffset
        recordGrowth &+= 1
    }

    /// Emits the gathered multi-line record (its flush timeout passed, or the file ended).
    mutating func flushRecord(emit: (AssembledRecord) -> Void) {
        guard let gathered = record else { return }
        emit(AssembledRecord(bytes: gathered, truncated: recordTruncated, endOffset: recordEnd))
        record = nil
        recordTruncated = false
    }

    /// Emits a last line without a newline and any gathered record: used when a rotated
    /// file is finished, as no more bytes will ever complete them.
    mutating func finish(endOffset: Int64, emit: (AssembledRecord) -> Void) {
        if hasPartialLine { finishLine(endOffset: endOffset, emit: emit) }
        flushRecord(emit: emit)
    }

    /// Starts over at `offset` (the file was truncated); what was partial is dropped.
    mutating func reset(to offset: Int64) {
        line = []
        lineTruncated = false
        lineStart = offset
        record = nil
        recordTruncated = false
    }
}
