import ArgumentParser
import Foundation
import SluiceEngine
import SluiceGateway

/// `sluice-bench forward`: the remote Kinesis sink against a local stand-in (Sluice's own
/// Kinesis API over loopback, in the same process).
///
/// 1. Throughput with the limits raised: in-process engine (the baseline), forwarded
///    with PutRecords, forwarded with KPL aggregation.
/// 2. Aggregation at Kinesis' limits (1,000 records/s and 1 MiB/s per shard, enforced by
///    the gateway and by the stand-in): user records per second through one shard.
struct ForwardBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "forward", abstract: "Forwarding to a remote Kinesis endpoint, and KPL aggregation's effect.")
    @Option(help: "Seconds measured per shape (after a 2 s warm-up).") var seconds = 10
    @Option(help: "Bytes of data per record.") var recordSize = 100
    @Option(help: "Shards for the throughput shapes.") var shards = 4
    @Option(help: "Concurrent producers.") var producers = 4

    func run() async throws {
        var rates: [String: Double] = [:]
        for (label, remote, aggregation) in [("embedded", false, nil), ("forwarded", true, nil), ("forwarded+aggregation", true, 51_200)] as [(String, Bool, Int?)] {
            let rig = try await GatewayRig(shards: shards, rates: .unlimited, spoolMaxBytes: 1 << 30, engineLimits: false, remote: remote, aggregationBytes: aggregation)
            rates[label] = try await measure(rig, keys: 10_000)
            await rig.finish()
        }
        let base = rates["embedded"]!
        for label in ["embedded", "forwarded", "forwarded+aggregation"] {
            print(String(format: "forward throughput: %@ %d B records into %d shards: %.0f records/s (%.1f MB/s), %.2f of in-process",
                         label, recordSize, shards, rates[label]!, rates[label]! * Double(recordSize) / 1e6, rates[label]! / base))
        }
        let limits = ShardRateLimiter.Rates()
        var perShard: [Double] = []
        for aggregation in [nil, 51_200] as [Int?] {
            let rig = try await GatewayRig(shards: 1, rates: limits, spoolMaxBytes: 64 << 20, engineLimits: true, remote: true, aggregationBytes: aggregation)
            perShard.append(try await measure(rig, keys: 1_000))
            await rig.finish()
        }
        print(String(format: "forward at Kinesis limits: 1 shard, %d B records: %.0f user records/s plain, %.0f aggregated (%.1fx; goal: above 1,000/s)  [%@]",
                     recordSize, perShard[0], perShard[1], perShard[1] / perShard[0], perShard[1] > 1000 ? "PASS" : "FAIL"))
    }

    /// User records stored per second while `producers` offer batches of 500 as fast as
    /// the gateway takes them.
    private func measure(_ rig: GatewayRig, keys: Int) async throws -> Double {
        let (stored, elapsed) = try await rig.offer(producers: producers, recordSize: recordSize, measure: .seconds(seconds), warmUp: .seconds(2)) { producer, n in
            "key-\((producer * 7919 + n) % keys)"
        }
        return Double(stored) / elapsed
    }
}
