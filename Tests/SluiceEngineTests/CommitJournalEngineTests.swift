import Logging
import Testing
import SluiceStorage
import SluiceTestSupport
@testable import SluiceEngine

/// The engine's use of the commit journal: replay before recovery, and resets before
/// anything a replay could write into is deleted or renamed.
@Suite struct CommitJournalEngineTests {
    let tmp = TemporaryDirectory("sluice-engine")
    let fs = PowerLossFileSystem()

    func open() throws -> StreamEngine {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var options = EngineOptions()
        options.enforceReadLimits = false
        return try StreamEngine(dataDirectory: tmp.path, options: options, fileSystem: fs, logger: logger)
    }

    @Test func putsAcknowledgedBeforeAPowerCutAreServedAfterIt() async throws {
        let engine = try open()
        try engine.catalog.createStream(name: "s", shardCount: 4)
        for n in 0..<100 { _ = try await engine.writer.putRecord(stream: "s", record: record("key-\(n)", "v\(n)")) }
        #expect(fs.unsyncedWrites > 0)
        try fs.cutPower()
        let reopened = try open()
        #expect(Set(try reopened.readEverything("s").map { String(decoding: $0.record.data, as: UTF8.self) }) == Set((0..<100).map { "v\($0)" }))
    }

    @Test func aStreamDeletedAndCreatedAgainIsNotOverwrittenByTheOldOnesJournal() async throws {
        let engine = try open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        for n in 0..<50 { _ = try await engine.writer.putRecord(stream: "s", record: record("k", "old-\(n)")) }
        try await engine.catalog.deleteStream(name: "s")
        try engine.catalog.createStream(name: "s", shardCount: 1)
        for n in 0..<3 { _ = try await engine.writer.putRecord(stream: "s", record: record("k", "new-\(n)")) }
        try fs.cutPower()
        let reopened = try open()
        #expect(try reopened.readEverything("s").map { String(decoding: $0.record.data, as: UTF8.self) } == ["new-0", "new-1", "new-2"])
    }

    @Test func aCleanCloseLeavesAnEmptyJournal() async throws {
        let engine = try open()
        try engine.catalog.createStream(name: "s", shardCount: 2)
        for n in 0..<20 { _ = try await engine.writer.putRecord(stream: "s", record: record("key-\(n)", "v\(n)")) }
        #expect(try CommitJournal.pendingEntries(dataDirectory: tmp.path) > 0)
        await engine.close()
        #expect(try CommitJournal.pendingEntries(dataDirectory: tmp.path) == 0)
        #expect(fs.unsyncedWrites == 0)
    }
}
