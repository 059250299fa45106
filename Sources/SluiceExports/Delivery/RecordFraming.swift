import FoundationEssentials
import SluiceEngine
import SluiceKinesis
import SluiceStorage

/// How records are laid out in an object (OBJECTS.md, "Content").
public struct RecordFraming: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        /// Each record's data as it was put.
        case data
        /// One JSON object per line with the record's metadata and its data in base64.
        case jsonLines = "json_lines"
    }

    public var format: Format
    /// With `data`: a newline after each record.
    public var newline: Bool

    public init(format: Format = .data, newline: Bool = false) {
        self.format = format
        self.newline = newline
    }

    /// Appends one record of `shardIndex` to `buffer`.
    public func append(_ record: StoredRecord, shardIndex: Int, to buffer: inout [UInt8]) {
        switch format {
        case .data:
            buffer.append(contentsOf: record.data)
            if newline { buffer.append(0x0A) }
        case .jsonLines:
            // Keys sorted; strings escaped by JSONSerialization's rules.
            let key = JSONText.quoted(record.partitionKey)
            let sequence = SequenceNumber(shardIndex: shardIndex, offset: record.offset).description
            let line = "{\"approximateArrivalTimestamp\":\(record.timestampMillis),\"data\":\"\(Data(record.data).base64EncodedString())\","
                + "\"partitionKey\":\(key),\"sequenceNumber\":\"\(sequence)\",\"shardId\":\"\(ShardID.string(shardIndex))\"}\n"
            buffer.append(contentsOf: line.utf8)
        }
    }
}
