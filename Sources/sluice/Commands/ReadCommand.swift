import ArgumentParser
import Foundation
import SluiceKinesis

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

    /// The GetShardIterator type and argument that `--from` means.
    func start() throws -> (type: String, sequence: String?, timestamp: Double?) {
        switch from.lowercased() {
        case "trim-horizon", "trim_horizon": return ("TRIM_HORIZON", nil, nil)
        case "latest": return ("LATEST", nil, nil)
        default: break
        }
        if from.count > 20, from.allSatisfy(\.isNumber) { return ("AT_SEQUENCE_NUMBER", from, nil) }
        if let seconds = Double(from) { return ("AT_TIMESTAMP", nil, seconds) }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: from) ?? ISO8601DateFormatter().date(from: from) {
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

    func emit(_ record: RecordShape, shard: String) {
        let text = String(data: record.Data, encoding: .utf8)
        if options.json {
            var object: [String: Any] = [
                "ShardId": shard, "SequenceNumber": record.SequenceNumber, "PartitionKey": record.PartitionKey,
                "ApproximateArrivalTimestamp": record.ApproximateArrivalTimestamp,
            ]
            if let text { object["Data"] = text } else { object["DataBase64"] = record.Data.base64EncodedString() }
            Output.json(object)
        } else {
            let body = text ?? "base64:" + record.Data.base64EncodedString()
            print("\(shard)\t\(record.SequenceNumber)\t\(Output.timestamp(record.ApproximateArrivalTimestamp))\t\(record.PartitionKey)\t\(body)")
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
