import ArgumentParser
import FoundationEssentials
import SluiceKinesis

struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Put one record, or one record per line of standard input.",
        discussion: """
            With DATA, sends one PutRecord. Without it, reads standard input and sends each line \
            as a record through PutRecords (500 records or 5 MiB a call); records the stream \
            throttles are sent again, in order, after a back-off.
            """
    )

    @OptionGroup var options: EndpointOptions
    @Argument(help: "The stream name.") var stream: String
    @Option(name: .long, help: "The partition key (1-256 characters).") var partitionKey: String
    @Option(name: .long, help: "A hash key that overrides the partition key's MD5.") var explicitHashKey: String?
    @Argument(help: "The record data; omit to read lines from standard input.") var data: String?

    func run() async throws {
        try await withClient(options) { client in
            if let data {
                let result = try await client.putRecord(stream, partitionKey: partitionKey, data: Data(data.utf8), explicitHashKey: explicitHashKey)
                if options.json {
                    Output.json(["ShardId": result.ShardId, "SequenceNumber": result.SequenceNumber])
                } else {
                    print("\(result.ShardId)\t\(result.SequenceNumber)")
                }
                return
            }
            var batch: [PutRecordsRequestEntry] = []
            var batchBytes = 0
            var sent = 0
            while let line = readLine(strippingNewline: true) {
                let entry = PutRecordsRequestEntry(Data: Data(line.utf8), PartitionKey: partitionKey, ExplicitHashKey: explicitHashKey)
                let size = entry.Data.count + partitionKey.utf8.count
                if batch.count == 500 || batchBytes + size > 5 << 20 {
                    sent += try await send(batch, client)
                    batch = []
                    batchBytes = 0
                }
                batch.append(entry)
                batchBytes += size
            }
            if !batch.isEmpty { sent += try await send(batch, client) }
            if options.json { Output.json(["Records": sent]) } else { print("put \(sent) records") }
        }
    }

    /// Sends a batch until every record is stored: the records a shard throttled are a
    /// suffix of that shard's records (the engine admits prefixes), so resending the
    /// failed ones in their original order keeps per-key order.
    private func send(_ records: [PutRecordsRequestEntry], _ client: KinesisClient) async throws -> Int {
        var pending = records
        var delay: UInt64 = 50_000_000
        while !pending.isEmpty {
            let result = try await client.putRecords(stream, records: pending)
            let failed = zip(pending, result.Records).filter { $0.1.ErrorCode != nil }
            if let hard = failed.first(where: { $0.1.ErrorCode != "ProvisionedThroughputExceededException" }) {
                throw KinesisError(type: hard.1.ErrorCode!, message: hard.1.ErrorMessage ?? "")
            }
            pending = failed.map(\.0)
            if !pending.isEmpty {
                try await Task.sleep(nanoseconds: delay)
                delay = min(delay * 2, 1_000_000_000)
            } else {
                delay = 50_000_000
            }
        }
        return records.count
    }
}
