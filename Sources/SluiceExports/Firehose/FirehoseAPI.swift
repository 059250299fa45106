import FoundationEssentials
import Metrics
import SluiceEngine
import SluiceKinesis
import SluiceStorage

/// Kinesis Data Firehose's API on sluiced's listener (`X-Amz-Target: Firehose_20150804.*`,
/// AWS JSON 1.1), so `aws firehose`, boto3's firehose client, the Kinesis Agent's
/// `deliveryStream` flows and Fluent Bit's `kinesis_firehose` output write into a box.
///
/// Delivery streams are of two sorts:
/// - each `[[exports]]` of kind files, s3 or http is one, named after the export
///   (`KinesisStreamAsSource`); a put goes into the export's local stream, and so out
///   through the export (AWS refuses direct puts to such a stream; here the source is
///   local, so they are taken);
/// - CreateDeliveryStream makes a `DirectPut` one: a local on-demand stream of that name,
///   tagged `sluice:firehose = DirectPut`. Where it goes is an `[[exports]]` entry with
///   that stream; destinations in the request are refused with that advice.
///
/// Records get a random partition key each (Firehose has none), so they spread over the
/// stream's shards.
public struct FirehoseAPI: Sendable {
    public static let targetPrefix = "Firehose_20150804."
    public static let actions = ["CreateDeliveryStream", "DeleteDeliveryStream", "DescribeDeliveryStream", "ListDeliveryStreams", "PutRecord", "PutRecordBatch"]
    /// The tag that marks a local stream as a DirectPut delivery stream.
    public static let tagKey = "sluice:firehose"
    static let maxRecordBytes = 1_024_000
    static let maxBatchBytes = 4 << 20
    static let maxBatchRecords = 500

    let engine: StreamEngine
    /// Delivery exports by name.
    let exports: [String: Export]

    public init(engine: StreamEngine, exports: [Export]) {
        self.engine = engine
        self.exports = Dictionary(exports.filter { ["files", "s3", "http"].contains($0.kind) }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// A delivery stream as it is resolved: the local stream it writes into.
    struct Resolved {
        var name: String
        var stream: String
        var type: String
        var export: Export?
    }

    /// Runs one action. - Throws: `KinesisError` in Firehose's wire shape.
    public func handle(action: String, body: Data) async throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            switch action {
            case "PutRecord":
                let input = try decode(FirehoseShapes.PutRecordInput.self, body)
                let target = try resolve(input.DeliveryStreamName)
                guard let record = input.Record else { throw Self.missing("record") }
                let data = try Self.data(record)
                guard case .stored(let sequence) = try await engine.writer.ingest(stream: target.stream, records: [Self.input(data)])[0] else {
                    throw KinesisError(type: "ServiceUnavailableException", message: "Slow down.", status: 503)
                }
                Self.incoming(target.name, records: 1, bytes: data.count)
                return try encoder.encode(FirehoseShapes.PutRecordOutput(RecordId: sequence.description, Encrypted: false))
            case "PutRecordBatch":
                let input = try decode(FirehoseShapes.PutRecordBatchInput.self, body)
                let target = try resolve(input.DeliveryStreamName)
                guard let records = input.Records else { throw Self.missing("records") }
                guard (1...Self.maxBatchRecords).contains(records.count) else {
                    throw KinesisError(type: "ValidationException", message: "1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length less than or equal to \(Self.maxBatchRecords) and greater than or equal to 1", status: 400)
                }
                let data = try records.map(Self.data)
                guard data.reduce(0, { $0 + $1.count }) <= Self.maxBatchBytes else {
                    throw KinesisError(type: "InvalidArgumentException", message: "Records size exceeds 4 MiB limit", status: 400)
                }
                let outcomes = try await engine.writer.ingest(stream: target.stream, records: data.map(Self.input))
                let entries = outcomes.map { outcome -> FirehoseShapes.PutRecordBatchResponseEntry in
                    switch outcome {
                    case .stored(let sequence): return .init(RecordId: sequence.description)
                    case .failed(let error):
                        let throttled = error.kind == .provisionedThroughputExceeded
                        return .init(ErrorCode: throttled ? "ServiceUnavailableException" : error.kind.rawValue, ErrorMessage: throttled ? "Slow down." : error.message)
                    }
                }
                let failed = entries.filter { $0.ErrorCode != nil }.count
                Self.incoming(target.name, records: entries.count - failed, bytes: zip(data, entries).reduce(0) { $0 + ($1.1.RecordId == nil ? 0 : $1.0.count) })
                return try encoder.encode(FirehoseShapes.PutRecordBatchOutput(FailedPutCount: failed, Encrypted: false, RequestResponses: entries))
            case "CreateDeliveryStream":
                return try encoder.encode(try create(body))
            case "DeleteDeliveryStream":
                let input = try decode(FirehoseShapes.NameInput.self, body)
                let target = try resolve(input.DeliveryStreamName)
                guard target.export == nil else {
                    throw KinesisError(type: "InvalidArgumentException", message: "Delivery stream \(target.name) is the export of that name in sluice.toml; remove its [[exports]] entry there instead.", status: 400)
                }
                try await engine.catalog.deleteStream(name: target.stream)
                return Data("{}".utf8)
            case "DescribeDeliveryStream":
                let input = try decode(FirehoseShapes.NameInput.self, body)
                return try encoder.encode(FirehoseShapes.DescribeOutput(DeliveryStreamDescription: try describe(try resolve(input.DeliveryStreamName))))
            case "ListDeliveryStreams":
                let input = try decode(FirehoseShapes.ListInput.self, body)
                let limit = input.Limit ?? 10
                guard (1...10_000).contains(limit) else {
                    throw KinesisError(type: "ValidationException", message: "1 validation error detected: Value '\(limit)' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000", status: 400)
                }
                let names = allNames().filter { name, type in
                    (input.DeliveryStreamType == nil || input.DeliveryStreamType == type) && (input.ExclusiveStartDeliveryStreamName.map { name > $0 } ?? true)
                }.map(\.0)
                return try encoder.encode(FirehoseShapes.ListOutput(DeliveryStreamNames: Array(names.prefix(limit)), HasMoreDeliveryStreams: names.count > limit))
            default:
                throw KinesisError.unknownOperation(action)
            }
        } catch let error as EngineError {
            throw KinesisError(error)
        }
    }

    /// Firehose's `IncomingRecords`, `IncomingBytes` and `IncomingPutRequests`.
    static func incoming(_ name: String, records: Int, bytes: Int) {
        let dimensions = [("delivery_stream", name)]
        Counter(label: "IncomingRecords", dimensions: dimensions).increment(by: records)
        Counter(label: "IncomingBytes", dimensions: dimensions).increment(by: bytes)
        Counter(label: "IncomingPutRequests", dimensions: dimensions).increment()
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: Data) throws -> T {
        do { return try JSONDecoder().decode(type, from: body.isEmpty ? Data("{}".utf8) : body) } catch {
            throw KinesisError.decoding(error, body: body)
        }
    }

    static func missing(_ member: String) -> KinesisError {
        KinesisError(type: "ValidationException", message: "1 validation error detected: Value null at '\(member)' failed to satisfy constraint: Member must not be null", status: 400)
    }

    static func data(_ record: FirehoseShapes.Record) throws -> [UInt8] {
        guard let data = Data(base64Encoded: record.Data) else {
            throw KinesisError.serialization("Record Data is not valid base64; send the record's bytes base64-encoded.")
        }
        guard data.count <= maxRecordBytes else {
            throw KinesisError(type: "InvalidArgumentException", message: "Record size \(data.count) exceeds the 1,000 KiB limit", status: 400)
        }
        return Array(data)
    }

    /// A random partition key: Firehose records carry none.
    static func input(_ data: [UInt8]) -> SluiceEngine.PutRecordInput {
        SluiceEngine.PutRecordInput(partitionKey: String(UInt64.random(in: 0...UInt64.max), radix: 16), data: data)
    }

    static func checkName(_ name: String?) throws -> String {
        guard let name else { throw missing("deliveryStreamName") }
        guard (1...64).contains(name.utf8.count), name.utf8.allSatisfy({ nameBytes.contains($0) }) else {
            throw KinesisError(type: "ValidationException", message: "1 validation error detected: Value '\(name)' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 1 and 64", status: 400)
        }
        return name
    }

    private static let nameBytes: Set<UInt8> = Set(Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-".utf8))

    func resolve(_ name: String?) throws -> Resolved {
        let name = try Self.checkName(name)
        if let export = exports[name] {
            return Resolved(name: name, stream: export.consumer.streamName, type: "KinesisStreamAsSource", export: export)
        }
        if let metadata = try? engine.catalog.metadata(of: name), metadata.tags[Self.tagKey] == "DirectPut" {
            return Resolved(name: name, stream: name, type: "DirectPut")
        }
        throw KinesisError(type: "ResourceNotFoundException", message: "Firehose \(name) under account \(account) not found.", status: 400)
    }

    /// Every delivery stream with its type, by name.
    func allNames() -> [(String, String)] {
        var all = exports.keys.map { ($0, "KinesisStreamAsSource") }
        for stream in engine.catalog.streamNames() where exports[stream] == nil {
            if (try? engine.catalog.metadata(of: stream))?.tags[Self.tagKey] == "DirectPut" { all.append((stream, "DirectPut")) }
        }
        return all.sorted { $0.0 < $1.0 }
    }

    private var arnParts: [Substring] { engine.catalog.arn(of: "x").split(separator: ":", omittingEmptySubsequences: false) }
    var region: String { String(arnParts[3]) }
    var account: String { String(arnParts[4]) }

    func arn(_ name: String) -> String { "arn:aws:firehose:\(region):\(account):deliverystream/\(name)" }

    private func create(_ body: Data) throws -> FirehoseShapes.CreateOutput {
        let input = try decode(FirehoseShapes.NameInput.self, body)
        let name = try Self.checkName(input.DeliveryStreamName)
        let type = input.DeliveryStreamType ?? "DirectPut"
        guard type == "DirectPut" else {
            throw KinesisError(type: "InvalidArgumentException", message: "Only DirectPut delivery streams are created through the API; a stream already on the box is delivered by an [[exports]] entry of kind files, s3 or http in sluice.toml.", status: 400)
        }
        let fields = (try? JSONParser.parse(body))?.keys ?? []
        if let destination = fields.sorted().first(where: { $0.hasSuffix("DestinationConfiguration") }) {
            throw KinesisError(type: "InvalidArgumentException", message: "\(destination): destinations are set in sluice.toml. Create the delivery stream without one, then add an [[exports]] entry with stream = \"\(name)\" and kind files, s3 or http.", status: 400)
        }
        guard exports[name] == nil else {
            throw KinesisError(type: "ResourceInUseException", message: "Firehose \(name) under account \(account) already exists (an export in sluice.toml).", status: 400)
        }
        do {
            try engine.catalog.createStream(name: name, shardCount: nil, mode: .onDemand)
        } catch let error as EngineError where error.kind == .resourceInUse {
            throw KinesisError(type: "ResourceInUseException", message: "Firehose \(name) under account \(account) already exists.", status: 400)
        }
        try engine.catalog.addTags(stream: name, tags: [Self.tagKey: "DirectPut"])
        return FirehoseShapes.CreateOutput(DeliveryStreamARN: arn(name))
    }

    private func describe(_ target: Resolved) throws -> FirehoseShapes.Description {
        let metadata = try engine.catalog.metadata(of: target.stream)
        let created = Double(metadata.createdAtMillis) / 1000
        return FirehoseShapes.Description(
            DeliveryStreamName: target.name, DeliveryStreamARN: arn(target.name), DeliveryStreamStatus: "ACTIVE",
            DeliveryStreamType: target.type, VersionId: "1", CreateTimestamp: created,
            Source: target.export.map { _ in FirehoseShapes.Source(KinesisStreamSourceDescription: .init(KinesisStreamARN: engine.catalog.arn(of: target.stream), DeliveryStartTimestamp: created)) },
            Destinations: target.export.map { [FirehoseShapes.Destination(DestinationId: "destinationId-000000000001", SluiceDestination: $0.destination.description)] } ?? [],
            HasMoreDestinations: false
        )
    }
}
