import Logging
import SluiceEngine
import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceGateway

/// The file source's timers run on the gateway's clock: a test moves them without waiting.
@Suite struct FileSourceTests {
    /// A file source on `harness`'s gateway tailing `path`, multi-line records starting at
    /// lines that begin with "S".
    func multilineSource(_ harness: GatewayHarness, path: String, flush: Duration) throws -> FileSource {
        let builder = RecordBuilder(
            parser: .raw, mapper: PartitionKeyMapper(template: try PartitionKeyTemplate("k")), addMetadata: false,
            host: "test", maxRecordBytes: 1 << 20, marker: []
        )
        var settings = FileSourceSettings(name: "app", stream: "s", paths: [path], builder: builder)
        settings.multilineStart = "^S"
        settings.multilineFlush = flush
        settings.pollInterval = .milliseconds(20)
        return try FileSource(
            settings: settings, gateway: harness.gateway, checkpointDirectory: harness.tmp.path + "/checkpoints",
            logger: Logger(label: "test")
        )
    }

    @Test("a gathered multi-line record is flushed once multiline_flush passes on the gateway's clock, not before")
    func multilineFlushRunsOnTheInjectedClock() async throws {
        let clock = ManualTimeSource()
        let harness = try await GatewayHarness(shards: 1, rates: .init(bytesPerSecond: 1 << 20, recordsPerSecond: 1_000), time: clock)
        let path = harness.tmp.path + "/app.log"
        RawFile.write(path, Array("S1\n c1\nS2\n c2\n".utf8))
        // An hour: on the real clock this test could only pass by waiting for it.
        let source = try multilineSource(harness, path: path, flush: .seconds(3_600))
        let run = Task { try await source.run() }
        // The first record is cut when "S2" starts it; the pass that stored it also looked
        // at the second, gathered record and found its flush time not reached.
        #expect(try await harness.waitForStored(1) == ["S1\n c1"])
        #expect(try harness.stored() == ["S1\n c1"], "the frozen clock holds the gathered record")
        clock.advance(millis: 3_600_000)
        #expect(try await harness.waitForStored(2) == ["S1\n c1", "S2\n c2"])
        run.cancel()
        _ = await run.result
        await harness.stop()
    }
}
