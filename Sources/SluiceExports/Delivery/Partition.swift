import FoundationEssentials
import SluiceStorage

/// One object's partition under dynamic partitioning: the values its records share, by
/// name (`!{partitionKeyFromQuery:NAME}` in the prefix, `Partition.recordKey` for
/// `!{partitionKey}`). Without partitioning every record is in the empty partition.
public struct Partition: Sendable, Hashable {
    /// The name `!{partitionKey}` (the record's own partition key) is kept under; `!` is
    /// not a character `partition_keys` names may use, so it never meets a query's name.
    public static let recordKey = "!partitionKey"

    public var values: [String: String]

    public init(_ values: [String: String] = [:]) {
        self.values = values
    }
}

/// How records are partitioned (`partition_keys` and `!{partitionKey}`): each query is a
/// path into the record's JSON data, `json.a.b` or `.a.b` (jq's form, as Firehose's
/// inline parsing writes it).
public struct Partitioning: Sendable, Equatable {
    public struct Query: Sendable, Equatable {
        public var name: String
        public var path: [String]
    }

    public var queries: [Query]
    /// `!{partitionKey}` is in the prefix.
    public var byRecordKey: Bool

    /// Why a record has no partition: its error record's code and message.
    public struct Failure: Error, Equatable {
        public var code = "DynamicPartitioning.MetadataExtractionFailed"
        public var message: String
    }

    public init(queries: [String: String], byRecordKey: Bool) throws {
        self.queries = try queries.sorted { $0.key < $1.key }.map { name, expression in
            Query(name: name, path: try Self.path(expression, name: name))
        }
        self.byRecordKey = byRecordKey
    }

    /// `json.a.b` or `.a.b` → `["a", "b"]`.
    static func path(_ expression: String, name: String) throws -> [String] {
        var text = Substring(expression)
        if text.hasPrefix("json.") { text = text.dropFirst(5) } else if text.hasPrefix(".") { text = text.dropFirst() }
        let path = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else {
            throw ObjectPrefix.Problem(description: "partition key \(name) = \"\(expression)\": write a path into the record's JSON such as \"json.device.site\" or \".device.site\"")
        }
        return path
    }

    /// The partition of one record. - Throws: `Failure` when its data is not a JSON
    /// object or a queried field is missing, null, an object or an array.
    public func partition(of record: StoredRecord) throws(Failure) -> Partition {
        var values: [String: String] = [:]
        if byRecordKey { values[Partition.recordKey] = record.partitionKey }
        guard !queries.isEmpty else { return Partition(values) }
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(record.data)) else {
            throw Failure(message: "the record's data is not a JSON object, so the partition keys cannot be read from it")
        }
        for query in queries {
            var value: JSONValue? = .object(object)
            for field in query.path {
                guard case .object(let fields)? = value else { value = nil; break }
                value = fields[field]
            }
            guard let text = value?.scalarText else {
                throw Failure(message: "partition key \(query.name): \(query.path.joined(separator: ".")) is missing or not a string, number or boolean")
            }
            values[query.name] = text
        }
        return Partition(values)
    }
}

/// A JSON value as a partition query walks it; numbers keep their integer form.
enum JSONValue: Decodable {
    case string(String), integer(Int64), number(Double), bool(Bool), object([String: JSONValue]), array, null

    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null }
        else if let value = try? single.decode(Bool.self) { self = .bool(value) }
        else if let value = try? single.decode(Int64.self) { self = .integer(value) }
        else if let value = try? single.decode(Double.self) { self = .number(value) }
        else if let value = try? single.decode(String.self) { self = .string(value) }
        else if let value = try? single.decode([String: JSONValue].self) { self = .object(value) }
        else { _ = try single.decode([JSONValue].self); self = .array }
    }

    /// A string, number or boolean as text; nil for the rest.
    var scalarText: String? {
        switch self {
        case .string(let text): text
        case .integer(let value): String(value)
        case .number(let value): "\(value)"
        case .bool(let value): value ? "true" : "false"
        case .object, .array, .null: nil
        }
    }
}
