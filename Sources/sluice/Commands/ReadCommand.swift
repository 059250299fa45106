import ArgumentParser
import FoundationEssentials
import SluiceKinesis
import SluiceStorage

struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read records from a stream's shards.",
        discussion: "Reads every shard (or one) from the starting point to the end; --follow keeps waiting for new records."
    )

    @OptionGroup var options: EndpointOptions
    @Argument(help: "The stream name.") var stream: String
    @Option(name: .long, help: "Read only this shard (shardId-000000000000 or 0).") var shard: String?
    @Option(name: .long, help: "trim-horizon, latest, a sequence number, or a time (ISO 8601 or epoch seconds).")
    var from = "trim-horizon"
    @Flag(name: .long, help: "Keep reading new records until interrupted.") var follow = false
    @Option(name: .long, help: "Stop after this many records.") var max: Int?
    @Flag(name: .long, help: "Print KPL aggregated records as stored instead of the user records inside them.") var noDeaggregate = false

    /// The GetShardIterator type and argument that `--from` means.
    func start() throws -> (type: String, sequence: String?, timestamp: Double?) {
        switch from.lowercased() {
        case "trim-horizon", "trim_horizon": return ("TRIM_HORIZON", nil, nil)
        case "latest": return ("LATEST", nil, nil)
        default: break
        }
        if from.count > 20, from.allSatisfy(\.isNumber) { return ("AT_SEQUENCE_NUMBER", from, nil) }
        if let seconds = Double(from) { return ("AT_TIMESTAMP", nil, seconds) }
        if let date = Output.date(from) {
            return ("AT_TIMESTAMP", nil, date.timeIntervalSince1970)
        }
        throw ValidationError("--from \(from): use trim-horizon, latest, a sequence number, or a time such as 2026-01-31T12:00:00Z")
    }

    func run() async throws {
        let (type, sequence, timestamp) = try start()
        try await withClient(options) { client in
            var shards = try await client.listShards(stream).map(\.ShardId)
            if let shard {
                let wanted = shard.hasPrefix("shardId-") ? shard : "shardId-" + String(repeating: "0", count: Swift.max(0, 12 - shard.count)) + shard
                guard shards.contains(wanted) else { throw ValidationError("stream \(stream) has no shard \(shard); shards: \(shards.joined(separator: ", "))") }
                shards = [wanted]
            }
            var iterators: [String: String] = [:]
            for id in shards {
                let shardSequence = sequence.flatMap { $0.count == 40 && ShardFromSequence.matches($0, id) ? $0 : nil }
                let (shardType, shardStart) = (type == "AT_SEQUENCE_NUMBER" && shardSequence == nil) ? ("TRIM_HORIZON", nil) : (type, shardSequence)
                iterators[id] = try await client.shardIterator(stream, shardId: id, type: shardType, sequenceNumber: shardStart, timestamp: timestamp)
            }
            var printed = 0
            while !iterators.isEmpty {
                var idle = true
                for id in shards {
                    guard let iterator = iterators[id] else { continue }
                    let page: GetRecordsOutput
                    do {
                        page = try await client.getRecords(iterator)
                    } catch let error as KinesisError where error.type == "ProvisionedThroughputExceededException" {
                        // The shard's read limit (5 calls/s): wait and try again.
                        try await Task.sleep(nanoseconds: 250_000_000)
                        continue
                    }
                    for record in page.Records {
                        emit(record, shard: id)
                        printed += 1
                        if let max, printed >= max { return }
                    }
                    if !page.Records.isEmpty { idle = false }
                    if let next = page.NextShardIterator, follow || !page.Records.isEmpty || (page.MillisBehindLatest ?? 0) > 0 {
                        iterators[id] = next
                    } else {
                        iterators[id] = nil
                    }
                }
                if idle && follow { try await Task.sleep(nanoseconds: 200_000_000) }
            }
        }
    }

    /// Prints one record, or each user record of a KPL aggregated record (with its
    /// sub-sequence number, as the KCL numbers them).
    func emit(_ record: RecordShape, shard: String) {
        let bytes = [UInt8](record.Data)
        guard !noDeaggregate, KPLAggregatedRecord.isAggregated(bytes) else {
            emit(data: record.Data, partitionKey: record.PartitionKey, sequence: record.SequenceNumber, subSequence: nil, record: record, shard: shard)
            return
        }
        do {
            for (index, user) in try KPLAggregatedRecord.unpack(bytes, partitionKey: record.PartitionKey).enumerated() {
                emit(data: Data(user.data), partitionKey: user.partitionKey, sequence: record.SequenceNumber, subSequence: index, record: record, shard: shard)
            }
        } catch {
            StandardError.write("sluice read: \(shard) \(record.SequenceNumber): \(error); printed as stored\n")
            emit(data: record.Data, partitionKey: record.PartitionKey, sequence: record.SequenceNumber, subSequence: nil, record: record, shard: shard)
        }
    }

    private func emit(data: Data, partitionKey: String, sequence: String, subSequence: Int?, record: RecordShape, shard: String) {
        let text = String(data: data, encoding: .utf8)
        if options.json {
            var object: [String: Any] = [
                "ShardId": shard, "SequenceNumber": sequence, "PartitionKey": partitionKey,
                "ApproximateArrivalTimestamp": record.ApproximateArrivalTimestamp,
            ]
            if let subSequence { object["SubSequenceNumber"] = subSequence }
            if let text { object["Data"] = text } else { object["DataBase64"] = data.base64EncodedString() }
            Output.json(object)
        } else {
            let body = text ?? "base64:" + data.base64EncodedString()
            let position = subSequence.map { "\(sequence).\($0)" } ?? sequence
            print("\(shard)\t\(position)\t\(Output.timestamp(record.ApproximateArrivalTimestamp))\t\(partitionKey)\t\(body)")
        }
    }
}

/// Sluice sequence numbers carry their shard index (digits 2–16), so `--from SEQ` can start
/// that sequence number's own shard there and read the other shards from the start.
enum ShardFromSequence {
    static func matches(_ sequence: String, _ shardId: String) -> Bool {
        guard let index = Int(sequence.dropFirst().prefix(15)), let shard = Int(shardId.dropFirst(8)) else { return false }
        return index == shard
    }
}
