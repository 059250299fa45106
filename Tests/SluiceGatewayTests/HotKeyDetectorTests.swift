import Logging
import SluiceEngine
import SluiceStorage
import SluiceTestSupport
import Synchronization
import Testing
@testable import SluiceGateway

@Suite struct HotKeyDetectorTests {
    @Test func reportsAHotKeyAndLowCardinalityOncePerInterval() throws {
        let log = CapturedLog()
        var settings = HotKeyDetector.Settings()
        settings.window = .milliseconds(50)
        let clock = ManualTimeSource()
        let detector = HotKeyDetector(stream: "s", rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 1000), settings: settings, time: clock, logger: log.logger)
        // 60 ms at 1 MiB/s is 63 KB of capacity: 40 KB is a 63 % share, hot.
        detector.observe(key: "sensor-1", shard: 0, bytes: 40_000, records: 10, openShards: 4)
        detector.observe(key: "sensor-2", shard: 0, bytes: 100, records: 1, openShards: 4)
        clock.advance(millis: 60)
        detector.observe(key: "sensor-2", shard: 0, bytes: 100, records: 1, openShards: 4)
        #expect(detector.hotKeys == ["sensor-1"])
        #expect(detector.distinctKeys == 2)
        let first = log.messages.withLock { $0 }
        #expect(first.count == 2)
        #expect(first.contains { $0.contains("hot partition keys") && $0.contains("sensor-1") })
        #expect(first.contains { $0.contains("low partition-key cardinality") && $0.contains("shards_used=1") && $0.contains("open_shards=4") })
        // The next window finds the same, but the log stays quiet until a minute passed.
        detector.observe(key: "sensor-1", shard: 0, bytes: 40_000, records: 10, openShards: 4)
        clock.advance(millis: 60)
        detector.observe(key: "sensor-1", shard: 0, bytes: 1, records: 1, openShards: 4)
        #expect(log.messages.withLock { $0.count } == 2)
    }

    @Test func aSpreadOfKeysIsNotReported() throws {
        let log = CapturedLog()
        var settings = HotKeyDetector.Settings()
        settings.window = .milliseconds(50)
        let clock = ManualTimeSource()
        let detector = HotKeyDetector(stream: "s", rates: .init(), settings: settings, time: clock, logger: log.logger)
        for k in 0..<40 { detector.observe(key: "k\(k)", shard: k % 4, bytes: 1000, records: 1, openShards: 4) }
        clock.advance(millis: 60)
        detector.observe(key: "k0", shard: 0, bytes: 1, records: 1, openShards: 4)
        #expect(detector.hotKeys.isEmpty)
        #expect(log.messages.withLock { $0 }.isEmpty)
    }
}
