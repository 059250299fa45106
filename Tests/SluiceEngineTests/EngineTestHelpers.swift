import Logging
import SluiceStorage
import SluiceTestSupport
@testable import SluiceEngine

/// An engine on a temporary directory with a manual clock. Read limits are off (tests
/// read in tight loops without moving the clock); ReshardingTests turns them on.
struct EngineFixture {
    let tmp = TemporaryDirectory("sluice-engine")
    let clock = ManualTimeSource()
    var options: EngineOptions = {
        var options = EngineOptions()
        options.enforceReadLimits = false
        return options
    }()

    func open() throws -> StreamEngine {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try StreamEngine(dataDirectory: tmp.path, options: options, clock: clock, logger: logger)
    }
}

func record(_ key: String, _ text: String) -> PutRecordInput {
    PutRecordInput(partitionKey: key, data: Array(text.utf8))
}

extension StreamEngine {
    /// Every record of every shard, read from the trim horizon.
    func readEverything(_ stream: String) throws -> [(shard: Int, record: StoredRecord)] {
        var all: [(Int, StoredRecord)] = []
        for shard in try catalog.metadata(of: stream).shards {
            var iterator: String? = try reader.shardIterator(stream: stream, shardId: shard.id, start: .trimHorizon)
            while let current = iterator {
                let page = try reader.getRecords(iterator: current, limit: 100)
                all += page.records.map { (shard.index, $0) }
                iterator = page.records.isEmpty ? nil : page.nextShardIterator
            }
        }
        return all
    }
}
