import SluiceStorage
import SluiceEngine

/// Builds the record a source submits from one assembled line: parse, add metadata, key.
///
/// Output: a `raw` line without metadata is stored as it is. Anything else is a JSON
/// object: the parsed fields (a JSON line keeps its own bytes unless fields are added),
/// `{"message": line}` for raw lines with metadata, plus `host` and `file` (or `topic`, for
/// MQTT messages) when `addMetadata` is on. A line the parser rejects is never dropped: it becomes
/// `{"message": line, "parse_error": why}` (and goes to the error stream when configured).
public struct RecordBuilder: Sendable {
    public let parser: LineParser
    public let mapper: PartitionKeyMapper
    public let addMetadata: Bool
    public let host: String
    /// Kinesis' bound on data plus key; a record over it is cut with the marker.
    public let maxRecordBytes: Int
    public let marker: [UInt8]

    public init(parser: LineParser, mapper: PartitionKeyMapper, addMetadata: Bool, host: String, maxRecordBytes: Int, marker: [UInt8]) {
        self.parser = parser
        self.mapper = mapper
        self.addMetadata = addMetadata
        self.host = host
        self.maxRecordBytes = maxRecordBytes
        self.marker = marker
    }

    public struct Built: Sendable {
        public var record: PutRecordInput
        /// Why the parser refused the line, when it did.
        public var parseError: String?
        /// The placeholder that had no value, when the fallback key was used.
        public var missingKeyValue: String?
        /// Whether the data was cut to fit Kinesis' record size (and ends with the marker).
        public var truncated = false
    }

    /// The key every record of `filePath` gets, when it does not depend on the record
    /// (no JSON field, no salting): rendered once per batch instead of once per line.
    public func fixedKey(filePath: String) -> String? {
        guard mapper.template.isPerFile, mapper.buckets == 1, mapper.deviceMap == nil else { return nil }
        return mapper.key(for: .init(host: host, filePath: filePath)).key
    }

    /// - Parameter key: the key from `fixedKey`, when there is one.
    public func build(_ line: [UInt8], filePath: String?, topic: String? = nil, captures: [String: String] = [:], key fixed: String? = nil) -> Built {
        var parsed: JSONValue?
        var parseError: String?
        switch parser.parse(line[...]) {
        case .success(let value): parsed = value
        case .failure(let failure): parseError = failure.message
        }
        var data: [UInt8]
        if let parseError {
            var object = JSONValue.object([("message", .string(String(decoding: line, as: UTF8.self))), ("parse_error", .string(parseError))])
            addFields(to: &object, filePath: filePath, topic: topic)
            data = object.bytes
        } else if var object = parsed {
            if addMetadata {
                addFields(to: &object, filePath: filePath, topic: topic)
                data = object.bytes
            } else if parser == .json {
                data = line
            } else {
                data = object.bytes
            }
        } else if addMetadata {
            var object = JSONValue.object([("message", .string(String(decoding: line, as: UTF8.self)))])
            addFields(to: &object, filePath: filePath, topic: topic)
            data = object.bytes
        } else {
            data = line
        }
        let (key, missing) = fixed.map { ($0, nil) } ?? mapper.key(for: .init(host: host, filePath: filePath, json: parsed, topic: topic, captures: captures))
        let limit = maxRecordBytes - key.utf8.count
        let truncated = data.count > limit
        if truncated {
            data = Array(data.prefix(max(0, limit - marker.count))) + marker
        }
        return Built(record: PutRecordInput(partitionKey: key, data: data), parseError: parseError, missingKeyValue: missing, truncated: truncated)
    }

    private func addFields(to object: inout JSONValue, filePath: String?, topic: String?) {
        guard addMetadata else { return }
        object.add("host", .string(host))
        if let filePath { object.add("file", .string(filePath)) }
        if let topic { object.add("topic", .string(topic)) }
    }
}
