import Foundation
import Logging
import SluiceEngine
import SluiceStorage

/// The load the export and function benchmarks share: `records` records of `recordSize`
/// bytes over 10,000 keys into a `shards`-shard stream, and the baseline they are
/// compared with in the same run: how fast the engine appends them in-process.
struct BenchLoad {
    var records: Int
    var recordSize: Int
    var shards: Int

    /// Records `n..<n+500`.
    func batch(_ n: Int) -> [PutRecordInput] {
        let data = [UInt8](repeating: 0x61, count: recordSize)
        return (0..<500).map { PutRecordInput(partitionKey: "key-\((n + $0) % 10_000)", data: data) }
    }

    /// An engine on a fresh temporary directory (write limits as given).
    func engine(_ name: String, limits: Bool, logger: Logger) throws -> (StreamEngine, String) {
        let directory = NSTemporaryDirectory() + "sluice-bench-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        var options = EngineOptions()
        options.enforceWriteLimits = limits
        return (try StreamEngine(dataDirectory: directory, options: options, logger: logger), directory)
    }

    /// A `bench` stream holding the whole load.
    func filled(_ name: String, logger: Logger) async throws -> (StreamEngine, String) {
        let (engine, directory) = try engine(name, limits: false, logger: logger)
        try engine.catalog.createStream(name: "bench", shardCount: shards)
        for n in stride(from: 0, to: records, by: 500) { _ = try await engine.writer.ingest(stream: "bench", records: batch(n)) }
        return (engine, directory)
    }

    /// Records per second the engine appends in batches of 500 (limits off).
    func appendRate(logger: Logger) async throws -> Double {
        let start = ContinuousClock.now
        let (engine, directory) = try await filled("append", logger: logger)
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        await engine.close()
        try? FileManager.default.removeItem(atPath: directory)
        return Double(records) / seconds
    }
}
