import ArgumentParser
import CMallocTuning
import Crypto
import Foundation
import Logging
import SluiceEngine
import SluiceKinesis
import SluiceStorage
import Synchronization

/// `sluice-bench`: throughput figures for the engine and the Kinesis API. Run it through
/// `scripts/bench.sh`, which measures the same disk's `dd` fsync bandwidth as the baseline.
@main
struct SluiceBench: AsyncParsableCommand {
    /// The same allocator tuning as sluiced, so the figures are the daemon's.
    static func main() async {
        sluice_tune_malloc()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "sluice-bench",
        abstract: "Measure Sluice's append and PutRecords throughput.",
        subcommands: [EngineBench.self, PutRecordsBench.self, OnDemandBench.self, SealBench.self, GatewayLimitBench.self, TailBench.self, MQTTBench.self, MQTTPublishCommand.self, ExportBench.self, FunctionBench.self, PeerBench.self, GetRecordsBench.self]
    )
}

/// Options shared by the benchmarks.
struct LoadOptions: ParsableArguments {
    @Option(help: "Concurrent writers.") var writers = 8
    @Option(help: "Bytes of data per record.") var recordSize = 1024
    @Option(help: "Records per put (1 = PutRecord).") var batch = 1
    @Option(help: "Seconds to run.") var seconds = 5.0
    @Option(help: "Shards in the benchmark stream.") var shards = 4
    @Option(help: "A label printed with the result.") var label = ""
}

/// Counts records and bytes across writers.
final class Tally: Sendable {
    let counts = Mutex<(records: Int, bytes: Int)>((0, 0))
    func add(records: Int, bytes: Int) { counts.withLock { $0.records += records; $0.bytes += bytes } }
}

/// Runs `writers` loops of `body` for `seconds` and prints records/s and MB/s on one line.
func measure(_ load: LoadOptions, name: String, _ body: @escaping @Sendable (Int, Int) async throws -> Void) async throws {
    let tally = Tally()
    let start = ContinuousClock.now
    let deadline = start + .milliseconds(Int(load.seconds * 1000))
    try await withThrowingTaskGroup(of: Void.self) { group in
        for writer in 0..<load.writers {
            group.addTask {
                var n = 0
                while ContinuousClock.now < deadline {
                    try await body(writer, n)
                    n += 1
                    tally.add(records: load.batch, bytes: load.batch * load.recordSize)
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = (ContinuousClock.now - start) / .seconds(1)
    let (records, bytes) = tally.counts.withLock { ($0.records, $0.bytes) }
    let line: [String: Any] = [
        "bench": name, "label": load.label, "writers": load.writers, "record_size": load.recordSize, "batch": load.batch,
        "shards": load.shards, "seconds": elapsed, "records_per_second": Double(records) / elapsed,
        "mb_per_second": Double(bytes) / elapsed / 1e6,
    ]
    let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

struct EngineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Appends through the engine (write limits off), each acknowledged after fsync."
    )
    @OptionGroup var load: LoadOptions
    @Option(help: "A scratch data directory on the disk to measure.") var dir: String
    @Option(help: "A key file: encrypt the benchmark stream (envelope encryption, AES-256-GCM).") var keyFile: String?
    @Flag(help: "Fsync every shard's segment file itself instead of the shared commit journal (the before of the journal's before/after).")
    var noJournal = false

    func run() async throws {
        var options = EngineOptions()
        options.enforceWriteLimits = false
        options.commitJournal = !noJournal
        options.keys = try keyFile.map { try LocalKeyFile.load(path: $0).provider }
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        try? FileManager.default.removeItem(atPath: dir)
        let engine = try StreamEngine(dataDirectory: dir, options: options, logger: logger)
        try engine.catalog.createStream(name: "bench", shardCount: load.shards)
        let payload = [UInt8](repeating: 0x61, count: load.recordSize)
        let batch = load.batch
        let name = (keyFile == nil ? "engine-append" : "engine-append-encrypted") + (noJournal ? " (no journal)" : "")
        try await measure(load, name: name) { writer, n in
            let records = (0..<batch).map { PutRecordInput(partitionKey: "w\(writer)-\((n * batch + $0) % 64)", data: payload) }
            if batch == 1 {
                _ = try await engine.writer.putRecord(stream: "bench", record: records[0])
            } else {
                _ = try await engine.writer.putRecords(stream: "bench", records: records)
            }
        }
        await engine.close()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

struct PutRecordsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put-records",
        abstract: "PutRecords over HTTP to a running sluiced (start it with enforce_write_limits = false)."
    )
    @OptionGroup var load: LoadOptions
    @Option(help: "The Kinesis endpoint.") var endpoint = "http://127.0.0.1:4567"

    func run() async throws {
        let client = try benchClient(endpoint)
        _ = try? await client.deleteStream("bench-http")
        try await client.createStream("bench-http", shardCount: load.shards)
        let payload = Data(repeating: 0x61, count: load.recordSize)
        let batch = load.batch
        try await measure(load, name: "put-records-http") { writer, n in
            let entries = (0..<batch).map { PutRecordsRequestEntry(Data: payload, PartitionKey: "w\(writer)-\((n * batch + $0) % 64)") }
            let result = try await client.putRecords("bench-http", records: entries)
            if result.FailedRecordCount > 0 { throw KinesisError(type: "Failed", message: "\(result.FailedRecordCount) records failed") }
        }
        try await client.deleteStream("bench-http")
        try await client.shutdown()
    }
}

struct OnDemandBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "on-demand",
        abstract: "Hammers one shard's key range of an ON_DEMAND stream and prints, second by second, shards, accepted and throttled records."
    )
    @Option(help: "A scratch data directory.") var dir: String
    @Option(help: "Records offered per second (the shard limit is 1,000).") var rate = 2500
    @Option(help: "Seconds to run.") var seconds = 15
    @Option(help: "Seconds between autoscaler checks.") var check = 2

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        try? FileManager.default.removeItem(atPath: dir)
        let engine = try StreamEngine(dataDirectory: dir, logger: logger)
        try engine.catalog.createStream(name: "od", shardCount: nil, mode: .onDemand)
        let quarter = UInt128.max / 4
        let keys = (0..<20_000).map { "key-\($0)" }.filter { HashKey.of(partitionKey: $0) <= quarter }
        let payload = [UInt8](repeating: 0x61, count: 100)
        print("second  open_shards  accepted  throttled")
        var n = 0
        for second in 0..<seconds {
            var accepted = 0, throttled = 0
            let start = ContinuousClock.now
            for slice in 0..<10 {
                let batch = (0..<(rate / 10)).map { _ -> SluiceEngine.PutRecordInput in
                    n += 1
                    return SluiceEngine.PutRecordInput(partitionKey: keys[n % keys.count], data: payload)
                }
                for chunk in stride(from: 0, to: batch.count, by: 500) {
                    for outcome in try await engine.writer.putRecords(stream: "od", records: Array(batch[chunk..<min(chunk + 500, batch.count)])) {
                        if case .stored = outcome { accepted += 1 } else { throttled += 1 }
                    }
                }
                try await Task.sleep(until: start + .milliseconds(100 * (slice + 1)), clock: .continuous)
            }
            if (second + 1) % check == 0 { await engine.autoscaler.scaleOnDemandStreams() }
            let open = try engine.catalog.metadata(of: "od").openShards.count
            print(String(format: "%6d  %11d  %8d  %9d", second + 1, open, accepted, throttled))
        }
        await engine.close()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

struct SealBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "The CPU ceiling of frame encoding: plain (encode + CRC32C) and sealed (AES-256-GCM) frames, in MB/s."
    )
    @Option(help: "Frame size in bytes.") var size = 100 * 1024
    @Option(help: "Seconds per measurement.") var seconds = 2.0

    func run() async throws {
        let key = SymmetricKey(size: .bits256)
        let context = SegmentContext(label: "bench/shardId-000000000000", baseOffset: 0)
        let records = [LogRecord(partitionKey: "k", data: [UInt8](repeating: 0x61, count: size))]
        var buffer: [UInt8] = []
        var scratch: [UInt8] = []
        func rate(_ encode: () throws -> Void) rethrows -> Double {
            var bytes = 0
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .milliseconds(Int(seconds * 1000)) {
                buffer.removeAll(keepingCapacity: true)
                try encode()
                bytes += size
            }
            return Double(bytes) / ((ContinuousClock.now - start) / .seconds(1)) / 1e6
        }
        let sealed = try rate {
            try RecordBatch.appendSealedFrame(to: &buffer, entries: [(0, records)], firstOffset: 0, dataKey: key, context: context, position: 64, scratch: &scratch)
        }
        let plain = rate { RecordBatch.appendFrame(to: &buffer, entries: [(0, records)], firstOffset: 0) }
        print(String(format: "frame %d B: sealed %.0f MB/s, plain %.0f MB/s", size, sealed, plain))
    }
}

/// `sluice-bench get-records`: fills a stream, then reads it back with GetRecords (limit
/// 10,000 per call) as fast as the endpoint answers. Start sluiced with
/// `enforce_read_limits = false` (the point is the server's speed, not the 5 calls/s).
struct GetRecordsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get-records", abstract: "GetRecords over HTTP from a running endpoint.")
    @Option(help: "The Kinesis endpoint.") var endpoint = "http://127.0.0.1:4567"
    @Option(help: "Records to write, then read.") var records = 50_000
    @Option(help: "Bytes of data per record.") var recordSize = 100
    @Option(help: "A label printed with the result.") var label = ""

    func run() async throws {
        let client = try benchClient(endpoint)
        _ = try? await client.deleteStream("bench-get")
        try await client.createStream("bench-get", shardCount: 1)
        let payload = Data(repeating: 0x61, count: recordSize)
        for start in stride(from: 0, to: records, by: 500) {
            let entries = (start..<min(records, start + 500)).map { PutRecordsRequestEntry(Data: payload, PartitionKey: "k\($0 % 64)") }
            _ = try await client.putRecords("bench-get", records: entries)
        }
        let begin = ContinuousClock.now
        var iterator: String? = try await client.shardIterator("bench-get", shardId: "shardId-000000000000", type: "TRIM_HORIZON")
        var read = 0
        while let current = iterator, read < records {
            let page = try await client.getRecords(current, limit: 10_000)
            read += page.Records.count
            iterator = page.NextShardIterator
        }
        let elapsed = (ContinuousClock.now - begin) / .seconds(1)
        try await client.deleteStream("bench-get")
        try await client.shutdown()
        let line: [String: Any] = [
            "bench": "get-records-http", "label": label, "writers": 1, "record_size": recordSize, "batch": 10_000, "shards": 1,
            "seconds": elapsed, "records_per_second": Double(read) / elapsed, "mb_per_second": Double(read * recordSize) / elapsed / 1e6,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self))
    }
}

/// A client that signs its requests (with throw-away credentials) as AWS SDKs do: sluiced
/// without [auth] ignores the signature, moto_server needs it to know the service.
func benchClient(_ endpoint: String) throws -> KinesisClient {
    let credentials = try AWSCredentialsProvider(file: nil, profile: nil, environment: ["AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret"])
    return KinesisClient(endpoint: endpoint, signing: .init(region: "us-east-1", credentials: credentials))
}
