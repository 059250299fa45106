import ArgumentParser
import Foundation
import Logging
import SluiceEngine
import SluiceExports
import SluiceGateway
import SluiceKinesis
import SluiceStorage
import Synchronization

/// `sluice-bench export`: exports to a remote Kinesis stand-in (a second engine behind
/// Sluice's Kinesis API on loopback, in the same process).
///
/// 1. Export throughput with limits raised, plain and KPL-aggregated, against the rate the
///    local engine appends the same records in-process (the baseline, same run).
/// 2. Local first against the old direct path: the gateway storing into the remote
///    directly (as `[sink] kind = "kinesis"` did) against the gateway storing locally while
///    an export forwards: records arriving at the remote per second, same run.
/// 3. At Kinesis' limits (1 remote shard, 1,000 records/s, 1 MiB/s): user records per
///    second through it, plain and aggregated (goal: above 1,000/s aggregated).
/// 4. Exports to files (5 MiB objects, fsynced), uncompressed, gzip and zstd, and to an
///    S3 stand-in on loopback (PutObject of 5 MiB objects, SigV4-signed), against the same
///    append rate.
struct ExportBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Exports to a remote Kinesis stand-in: throughput, local first against direct, aggregation at the limits.")
    @Option(help: "Records per throughput shape.") var records = 200_000
    @Option(help: "Seconds measured per timed shape.") var seconds = 10
    @Option(help: "Bytes of data per record.") var recordSize = 100
    @Option(help: "Shards of the local and remote streams.") var shards = 4

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let unlimited = ShardRateLimiter.Rates.unlimited
        // 1. Throughput.
        let append = try await load.appendRate(logger: logger)
        for aggregation in [nil, 51_200] as [Int?] {
            let rate = try await exportRate(aggregation: aggregation, rates: unlimited, remoteLimits: false, remoteShards: shards, timed: nil, logger: logger)
            print(String(format: "export throughput: %@ %d B records, %d shards: %.0f records/s (%.1f MB/s); in-process append %.0f records/s; ratio %.2f",
                         aggregation == nil ? "plain" : "aggregated", recordSize, shards, rate, rate * Double(recordSize) / 1e6, append, rate / append))
        }
        for compression in Compression.allCases {
            let rate = try await deliveryRate(s3: false, compression: compression, logger: logger)
            print(String(format: "export to files: %@, %d B records, %d shards: %.0f records/s (%.1f MB/s); in-process append %.0f records/s; ratio %.2f",
                         compression.rawValue, recordSize, shards, rate, rate * Double(recordSize) / 1e6, append, rate / append))
        }
        for compression in [Compression.none, .gzip] {
            let rate = try await deliveryRate(s3: true, compression: compression, logger: logger)
            print(String(format: "export to S3 (loopback stand-in): %@, %d B records, %d shards: %.0f records/s (%.1f MB/s); in-process append %.0f records/s; ratio %.2f",
                         compression.rawValue, recordSize, shards, rate, rate * Double(recordSize) / 1e6, append, rate / append))
        }
        // 2. Local first against direct.
        let direct = try await gatewayRate(localFirst: false, logger: logger)
        let localFirst = try await gatewayRate(localFirst: true, logger: logger)
        print(String(format: "local first: gateway -> local stream -> export -> remote %.0f records/s; old direct path gateway -> remote %.0f records/s; ratio %.2f",
                     localFirst, direct, localFirst / direct))
        // 3. At Kinesis' limits.
        var perShard: [Double] = []
        for aggregation in [nil, 51_200] as [Int?] {
            perShard.append(try await exportRate(aggregation: aggregation, rates: .init(), remoteLimits: true, remoteShards: 1, timed: .seconds(seconds), logger: logger))
        }
        print(String(format: "export at Kinesis limits: 1 remote shard, %d B records: %.0f user records/s plain, %.0f aggregated (%.1fx; goal: above 1,000/s)  [%@]",
                     recordSize, perShard[0], perShard[1], perShard[1] / perShard[0], perShard[1] > 1000 ? "PASS" : "FAIL"))
    }

    private var load: BenchLoad { BenchLoad(records: records, recordSize: recordSize, shards: shards) }
    private func batch(_ n: Int) -> [SluiceEngine.PutRecordInput] { load.batch(n) }
    private func engine(_ name: String, limits: Bool, logger: Logger) throws -> (StreamEngine, String) { try load.engine(name, limits: limits, logger: logger) }

    /// Records per second an export delivers: of a stream filled beforehand (`timed` nil:
    /// all of it), or over `timed` from a stream filled far beyond what it can deliver.
    private func exportRate(aggregation: Int?, rates: ShardRateLimiter.Rates, remoteLimits: Bool, remoteShards: Int, timed: Duration?, logger: Logger) async throws -> Double {
        let (local, localDirectory) = try engine("export-local", limits: false, logger: logger)
        let (remote, remoteDirectory) = try engine("export-remote", limits: remoteLimits, logger: logger)
        try local.catalog.createStream(name: "bench", shardCount: timed == nil ? shards : 1)
        try remote.catalog.createStream(name: "bench", shardCount: remoteShards)
        let total = timed == nil ? records : 200_000
        for n in stride(from: 0, to: total, by: 500) { _ = try await local.writer.ingest(stream: "bench", records: batch(n)) }
        let (endpoint, server) = try await GatewayRig.serve(remote, logger: logger)
        var settings = KinesisDestination.Settings(remoteStream: "bench", endpoint: endpoint)
        settings.rates = rates
        settings.aggregationMaxBytes = aggregation
        let export = Export(
            name: "bench", kind: "kinesis", consumer: try local.reader.durableConsumer(stream: "bench", name: "bench"),
            destination: KinesisDestination(client: KinesisClient(endpoint: endpoint), settings: settings, export: "bench", logger: logger),
            logger: logger
        )
        let running = Task { await export.run() }
        let start = ContinuousClock.now
        var delivered: UInt64 = 0
        if let timed {
            try await Task.sleep(for: timed)
            delivered = export.status().deliveredRecords
        } else {
            while delivered < UInt64(total) {
                try await Task.sleep(for: .milliseconds(20))
                delivered = export.status().deliveredRecords
            }
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        running.cancel()
        await running.value
        server.cancel()
        await local.close()
        await remote.close()
        try? FileManager.default.removeItem(atPath: localDirectory)
        try? FileManager.default.removeItem(atPath: remoteDirectory)
        return Double(delivered) / seconds
    }

    /// Records per second written out as objects (files, or PutObject to an S3 stand-in on
    /// loopback) from a stream filled beforehand.
    private func deliveryRate(s3: Bool, compression: Compression, logger: Logger) async throws -> Double {
        let (local, directory) = try await load.filled("files", logger: logger)
        let out = directory + "-out"
        try? FileManager.default.removeItem(atPath: out)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let namePrefix = ObjectTarget.namePrefix(stream: "bench", export: "bench")
        var server: Task<Void, any Error>?
        let store: any ObjectStore
        if s3 {
            let (endpoint, running) = try await S3StandIn.serve(logger: logger)
            server = running
            let credentials = try AWSCredentialsProvider(file: nil, profile: nil, environment: ["AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"])
            store = S3Store(settings: .init(bucket: "bench", endpoint: endpoint, region: "us-east-1", pathStyle: true), credentials: credentials, namePrefix: namePrefix, logger: logger)
        } else {
            store = DirectoryStore(directory: out, namePrefix: namePrefix, logger: logger)
        }
        let target = ObjectTarget(store: store, prefix: try ObjectPrefix(""), framing: RecordFraming(newline: true), compression: compression, namePrefix: namePrefix, logger: logger)
        let destination = BufferingDestination(settings: .init(), target: target, errorTarget: nil, backupTarget: nil, export: "bench", logger: logger)
        let export = Export(name: "bench", kind: s3 ? "s3" : "files", consumer: try local.reader.durableConsumer(stream: "bench", name: "bench"), destination: destination, logger: logger)
        let running = Task { await export.run() }
        let start = ContinuousClock.now
        // Every record read; then a stop writes the last, partial object, as sluiced's does.
        while export.status().deliveredRecords + UInt64(destination.bufferedRecords) < UInt64(records) { try await Task.sleep(for: .milliseconds(10)) }
        await export.finish(within: .seconds(60))
        let delivered = export.status().deliveredRecords
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        running.cancel()
        await running.value
        server?.cancel()
        await local.close()
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.removeItem(atPath: out)
        return Double(delivered) / seconds
    }

    /// Records per second arriving at the remote while the gateway is offered records as
    /// fast as it takes them: directly (`localFirst` false) or through the local stream and
    /// an export.
    private func gatewayRate(localFirst: Bool, logger: Logger) async throws -> Double {
        let (remote, remoteDirectory) = try engine("direct-remote", limits: false, logger: logger)
        try remote.catalog.createStream(name: "bench", shardCount: shards)
        let (endpoint, server) = try await GatewayRig.serve(remote, logger: logger)
        let client = KinesisClient(endpoint: endpoint)
        let rig = try await GatewayRig(
            shards: shards, rates: .unlimited, spoolMaxBytes: 1 << 30, engineLimits: false, name: "direct",
            sink: localFirst ? nil : DirectRemoteSink(client: client, remote: remote)
        )
        var export: Task<Void, Never>?
        if localFirst {
            var settings = KinesisDestination.Settings(remoteStream: "bench", endpoint: endpoint)
            settings.rates = .unlimited
            let running = Export(
                name: "bench", kind: "kinesis", consumer: try rig.engine.reader.durableConsumer(stream: "bench", name: "bench"),
                destination: KinesisDestination(client: KinesisClient(endpoint: endpoint), settings: settings, export: "bench", logger: logger),
                logger: logger
            )
            export = Task { await running.run() }
        }
        let arrived = { remote.totals.records }
        let load = Task {
            var n = 0
            while !Task.isCancelled {
                try? await rig.gateway.submit(stream: "bench", records: batch(n))
                n += 500
            }
        }
        try await Task.sleep(for: .seconds(2))
        let before = arrived()
        let start = ContinuousClock.now
        try await Task.sleep(for: .seconds(seconds))
        let count = arrived() - before
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        load.cancel()
        await load.value
        export?.cancel()
        await export?.value
        await rig.finish()
        server.cancel()
        try? await client.shutdown()
        await remote.close()
        try? FileManager.default.removeItem(atPath: remoteDirectory)
        return Double(count) / elapsed
    }
}

/// The old direct path, for comparison only: the gateway's records go to the remote in
/// PutRecords calls of 500, metered against the remote's shard map.
struct DirectRemoteSink: GatewaySink {
    let client: KinesisClient
    /// The remote engine itself, for its shard map (the stand-in runs in this process).
    let remote: StreamEngine

    func shardMap(stream: String) throws -> ShardMap { try remote.catalog.shardMap(stream: stream) }
    func shardMapVersion(stream: String) throws -> UInt64 { try remote.catalog.shardMapVersion(stream: stream) }
    func put(stream: String, records: [SluiceEngine.PutRecordInput], routedTo route: ShardRoute?) async throws -> [SinkOutcome] {
        var outcomes: [SinkOutcome] = []
        for start in stride(from: 0, to: records.count, by: 500) {
            let part = records[start..<min(records.count, start + 500)]
            let output = try await client.putRecords(stream, records: part.map { PutRecordsRequestEntry(Data: Data($0.data), PartitionKey: $0.partitionKey) })
            outcomes += output.Records.map { $0.ErrorCode == nil ? SinkOutcome.stored : SinkOutcome.failed(EngineError(.internalFailure, $0.ErrorMessage ?? "")) }
        }
        return outcomes
    }
}
