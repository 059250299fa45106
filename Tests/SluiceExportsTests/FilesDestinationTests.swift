import Foundation
import Logging
import SluiceEngine
import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceExports

/// The files destination with a real engine and export: objects appear whole under their
/// names, positions are committed only once an object is in place, and what a crash
/// left half-written is removed at the next start.
@Suite struct FilesDestinationTests {
    let tmp = TemporaryDirectory("sluice-files")
    var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// Yields until `condition` holds (the export's tasks run meanwhile); fails after 30 s
    /// instead of hanging.
    func eventually(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            try #require(ContinuousClock.now < deadline, "timed out waiting: \(what)")
            await Task.yield()
        }
    }

    func objects(_ directory: String) throws -> [String] {
        let all = FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []
        return all.filter { !$0.hasSuffix("/") && !((try? FileManager.default.attributesOfItem(atPath: directory + "/" + $0)[.type] as? FileAttributeType) == .typeDirectory) }.sorted()
    }

    @Test func everyRecordLandsInAWholeObjectAndIsCommittedAfterIt() async throws {
        var options = EngineOptions()
        options.enforceWriteLimits = false
        let engine = try StreamEngine(dataDirectory: tmp.path + "/data", options: options, logger: logger)
        try engine.createStream(name: "s", shardCount: 2)
        let written = (0..<3000).map { "line-\($0)" }
        for chunk in stride(from: 0, to: written.count, by: 500) {
            let outcomes = try await engine.ingest(stream: "s", records: written[chunk..<chunk + 500].map { PutRecordInput(partitionKey: "k\($0.count % 5)\($0.suffix(1))", data: Array($0.utf8)) })
            #expect(outcomes.allSatisfy { if case .stored = $0 { true } else { false } })
        }
        let out = tmp.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        var settings = FilesDestination.Settings(directory: out, prefix: try ObjectPrefix("p/"))
        settings.bufferBytes = 1 << 20
        settings.bufferSeconds = 0  // every batch its own object: no timer to wait for
        settings.framing = RecordFraming(newline: true)
        let export = Export(
            name: "e", kind: "files", consumer: try engine.durableConsumer(stream: "s", name: "e"),
            destination: try FilesDestination(settings: settings, stream: "s", export: "e", logger: logger), logger: logger
        )
        let running = Task { await export.run() }
        try await eventually("all records delivered") { export.status().deliveredRecords >= 3000 }
        running.cancel()
        await running.value
        let names = try objects(out)
        #expect(!names.isEmpty && names.allSatisfy { $0.hasPrefix("p/") && $0.contains("/s-e-") && !$0.contains("/.") })
        var lines: [String] = []
        for name in names { lines += try String(contentsOfFile: out + "/" + name, encoding: .utf8).split(separator: "\n").map(String.init) }
        #expect(lines.sorted() == written.sorted())
        #expect(export.consumer.status().shards.allSatisfy { $0.recordsBehind == 0 })
    }

    @Test func aMissingDirectoryHoldsTheRecordsUntilItAppears() async throws {
        let engine = try StreamEngine(dataDirectory: tmp.path + "/data", logger: logger)
        try engine.createStream(name: "s", shardCount: 1)
        _ = try await engine.putRecord(stream: "s", record: PutRecordInput(partitionKey: "k", data: Array("one".utf8)))
        let out = tmp.path + "/usb"
        var settings = FilesDestination.Settings(directory: out, prefix: try ObjectPrefix(""))
        settings.bufferSeconds = 0
        settings.backoff = Backoff(base: .milliseconds(10), cap: .milliseconds(50))
        let destination = try FilesDestination(settings: settings, stream: "s", export: "e", logger: logger)
        let export = Export(name: "e", kind: "files", consumer: try engine.durableConsumer(stream: "s", name: "e"), destination: destination, logger: logger)
        let running = Task { await export.run() }
        try await eventually("the write fails") { destination.failure != nil }
        #expect(destination.failure?.contains("does not exist") == true)
        #expect(!FileManager.default.fileExists(atPath: out), "the configured directory is never created")
        #expect(export.status().deliveredRecords == 0)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        try await eventually("delivered once the directory exists") { export.status().deliveredRecords >= 1 }
        running.cancel()
        await running.value
        #expect(try objects(out).count == 1)
    }

    @Test func finishWritesTheOpenObjectAndCommitsIt() async throws {
        let engine = try StreamEngine(dataDirectory: tmp.path + "/data", logger: logger)
        try engine.createStream(name: "s", shardCount: 2)
        for n in 0..<50 { _ = try await engine.putRecord(stream: "s", record: PutRecordInput(partitionKey: "k\(n)", data: Array("r\(n)\n".utf8))) }
        let out = tmp.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        var settings = FilesDestination.Settings(directory: out, prefix: try ObjectPrefix(""))
        settings.bufferSeconds = 900
        let destination = try FilesDestination(settings: settings, stream: "s", export: "e", logger: logger)
        let export = Export(name: "e", kind: "files", consumer: try engine.durableConsumer(stream: "s", name: "e"), destination: destination, logger: logger)
        let running = Task { await export.run() }
        try await eventually("records buffered") { destination.bufferedRecords == 50 }
        #expect(try objects(out).isEmpty)
        await export.finish(within: .seconds(10))
        running.cancel()
        await running.value
        #expect(try objects(out).count == 1)
        #expect(export.status().deliveredRecords == 50)
        #expect(export.consumer.status().shards.allSatisfy { $0.recordsBehind == 0 })
    }

    @Test func leftoversOfACrashAreRemovedAtStart() throws {
        let out = tmp.path + "/out"
        try FileManager.default.createDirectory(atPath: out + "/2025/11", withIntermediateDirectories: true)
        for name in ["2025/11/.s-e-abc.tmp", "2025/11/.s-other-abc.tmp", "2025/11/s-e-2025.gz"] {
            FileManager.default.createFile(atPath: out + "/" + name, contents: Data("x".utf8))
        }
        _ = try FilesDestination(settings: .init(directory: out, prefix: try ObjectPrefix("")), stream: "s", export: "e", logger: logger)
        #expect(try objects(out).filter { !$0.hasSuffix("/11") && !$0.hasSuffix("2025") } == ["2025/11/.s-other-abc.tmp", "2025/11/s-e-2025.gz"])
    }
}
