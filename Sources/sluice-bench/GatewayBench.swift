import ArgumentParser
import Foundation
import Logging
import SluiceEngine
import SluiceGateway
import SluiceKinesis
import SluiceKinesisServer
import Hummingbird
import SluiceStorage
import Synchronization

extension ShardRateLimiter.Rates {
    /// No limit: the benches that measure the pipeline itself, not the meter.
    static let unlimited = ShardRateLimiter.Rates(bytesPerSecond: 1 << 40, recordsPerSecond: 1 << 30)
}

/// A temporary engine and gateway for the gateway benchmarks. With `sink`, the gateway
/// stores through it instead of into the engine (the export bench's direct path).
final class GatewayRig: Sendable {
    let directory: String
    let engine: StreamEngine
    let gateway: Gateway
    let drains: Task<Void, Never>

    init(shards: Int, rates: ShardRateLimiter.Rates, spoolMaxBytes: Int64, engineLimits: Bool, name: String = "gateway", sink: (any GatewaySink)? = nil) async throws {
        directory = NSTemporaryDirectory() + "sluice-bench-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var options = EngineOptions()
        options.enforceWriteLimits = engineLimits
        engine = try StreamEngine(dataDirectory: directory, options: options, logger: logger)
        try engine.catalog.createStream(name: "bench", shardCount: shards)
        var settings = Gateway.Settings()
        settings.rates = rates
        settings.spoolMaxBytes = spoolMaxBytes
        let gateway = Gateway(sink: sink ?? EmbeddedSink(engine: engine), dataDirectory: directory + "/gateway", settings: settings, keys: nil, keyId: nil, logger: logger)
        self.gateway = gateway
        drains = Task { await gateway.runDrains() }
    }

    /// Serves `engine`'s Kinesis API on 127.0.0.1 (a free port); returns its URL.
    static func serve(_ engine: StreamEngine, logger: Logger) async throws -> (String, Task<Void, any Error>) {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var quiet = logger
        quiet.logLevel = .critical  // cancelling the server at the end logs as errors
        let app = Application(
            router: KinesisHTTPServer.router(dispatcher: KinesisDispatcher(engine: engine), logger: logger),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: quiet
        )
        let task = Task { try await app.runService() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ValidationError("the stand-in server did not start") }
        return ("http://127.0.0.1:\(port)", task)
    }

    /// Offers batches of 500 records from `producers` tasks as fast as the gateway takes
    /// them; returns the user records stored during `measure` (after `warmUp`) and the
    /// seconds it took.
    func offer(producers: Int, recordSize: Int, measure: Duration, warmUp: Duration,
               key: @escaping @Sendable (_ producer: Int, _ n: Int) -> String) async throws -> (records: UInt64, seconds: Double) {
        let stop = StopFlag()
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for producer in 0..<producers {
                    group.addTask {
                        var n = 0
                        let payload = [UInt8](repeating: 0x61, count: recordSize)
                        while !stop.isSet {
                            let batch = (0..<500).map { k in PutRecordInput(partitionKey: key(producer, n + k), data: payload) }
                            n += 500
                            try? await self.gateway.submit(stream: "bench", records: batch)
                        }
                    }
                }
            }
        }
        try await Task.sleep(for: warmUp)
        let before = storedRecords
        let start = ContinuousClock.now
        try await Task.sleep(for: measure)
        let stored = storedRecords - before
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        stop.set()
        load.cancel()
        await load.value
        return (stored, elapsed)
    }

    /// Records stored so far, over all shards.
    var storedRecords: UInt64 {
        gateway.status().streams.flatMap(\.shards).reduce(0) { $0 + $1.directRecords + $1.drainedRecords }
    }

    func finish() async {
        drains.cancel()
        await gateway.shutdown()
        await engine.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// `sluice-bench gateway-limit`: offers a uniform key spread to an N-shard stream as fast
/// as it can and prints the accepted throughput against N × the shard limit.
struct GatewayLimitBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gateway-limit", abstract: "Accepted throughput of the per-shard limiter, against N x 1 MiB/s.")
    @Option(help: "Shards.") var shards = 4
    @Option(help: "Seconds measured (after a 3 s warm-up).") var seconds = 30
    @Option(help: "Bytes of data per record.") var recordSize = 1024
    @Option(help: "Concurrent producers.") var producers = 4

    func run() async throws {
        let limit = 1 << 20
        let rig = try await GatewayRig(shards: shards, rates: .init(bytesPerSecond: limit, recordsPerSecond: 1000), spoolMaxBytes: 64 << 20, engineLimits: true)
        let (stored, secondsElapsed) = try await rig.offer(producers: producers, recordSize: recordSize, measure: .seconds(seconds), warmUp: .seconds(3)) { producer, n in
            "key-\(producer)-\(n)"
        }
        // Keys are "key-P-N" (about 12 bytes); the limiter counts them with the data.
        let bytesPerRecord = Double(recordSize + 12)
        let rate = Double(stored) * bytesPerRecord / secondsElapsed
        let target = Double(shards * limit)
        let ratio = rate / target
        print(String(format: "gateway-limit: %d shards, %d B records: accepted %.2f MiB/s over %.0f s = %.3f of %d MiB/s  [%@ within ±3 %%]",
                     shards, recordSize, rate / Double(1 << 20), secondsElapsed, ratio, shards, abs(ratio - 1) <= 0.03 ? "PASS" : "FAIL"))
        await rig.finish()
    }
}

/// `sluice-bench tail`: a file of lines tailed into the engine (limits off), against
/// `cat FILE > /dev/null` on the same file in the same run.
struct TailBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tail", abstract: "File tail into the engine vs cat.")
    @Option(help: "MiB of lines to tail.") var mebibytes = 256
    @Option(help: "Bytes per line (newline included).") var lineSize = 200
    @Option(help: "Shards.") var shards = 4
    @Option(help: "Partition-key template.") var partitionKey = "{file.name}-{host}"
    @Flag(inversion: .prefixedNo, help: "Records carry their origin, as in sluiced (off: the baseline that shows their cost).")
    var origins = true

    func run() async throws {
        let rig = try await GatewayRig(shards: shards, rates: .unlimited, spoolMaxBytes: 1 << 30, engineLimits: false)
        let logs = rig.directory + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let path = logs + "/bench.log"
        let lines = mebibytes << 20 / lineSize
        var chunk = [UInt8]()
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("cannot create \(path)")
        }
        for n in 0..<lines {
            var line = Array("\(n) ".utf8)
            line += [UInt8](repeating: 0x2E, count: lineSize - 1 - line.count)
            line.append(0x0A)
            chunk += line
            if chunk.count >= 8 << 20 {
                handle.write(Data(chunk))
                chunk = []
            }
        }
        handle.write(Data(chunk))
        try handle.close()
        let size = Double(lines * lineSize)

        let cat = Process()
        cat.executableURL = URL(fileURLWithPath: "/bin/sh")
        cat.arguments = ["-c", "cat '\(path)' > /dev/null"]
        let catStart = ContinuousClock.now
        try cat.run()
        cat.waitUntilExit()
        let catSeconds = (ContinuousClock.now - catStart) / .seconds(1)

        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let builder = RecordBuilder(
            parser: .raw, mapper: PartitionKeyMapper(template: try PartitionKeyTemplate(partitionKey)),
            addMetadata: false, host: ProcessInfo.processInfo.hostName, maxRecordBytes: 1 << 20, marker: Array("...".utf8)
        )
        var settings = FileSourceSettings(name: "bench", stream: "bench", paths: [logs + "/*.log"], builder: builder)
        settings.pollInterval = .milliseconds(50)
        settings.recordOrigins = origins
        let source = try FileSource(settings: settings, gateway: rig.gateway, checkpointDirectory: rig.directory + "/checkpoints", logger: logger)
        let start = ContinuousClock.now
        let tailing = Task { try await source.run() }
        while source.status.files.first.map({ $0.checkpoint < Int64(size) }) ?? true {
            try await Task.sleep(for: .milliseconds(5))
        }
        let tailSeconds = (ContinuousClock.now - start) / .seconds(1)
        tailing.cancel()
        let mib = size / Double(1 << 20)
        let goal = mib / tailSeconds >= 150 ? "  [PASS 150 MiB/s goal]" : "  [FAIL 150 MiB/s goal]"
        print(String(format: "%@: %.0f MiB, %d lines of %d B into %d shards: %.1f MiB/s, %.0f lines/s; cat: %.1f MiB/s; ratio %.3f%@",
                     origins ? "tail" : "tail without origins (baseline)", mib, lines, lineSize, shards, mib / tailSeconds,
                     Double(lines) / tailSeconds, mib / catSeconds, catSeconds / tailSeconds, origins ? goal : ""))
        await rig.finish()
    }
}

/// Tells producer tasks to stop.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
