import Foundation
import Logging
import SluiceEngine
import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceExports

/// The buffering destination over a directory, with a real engine and export: objects
/// appear whole under their names, positions are committed only once an object is in
/// place, what a crash left half-written is removed at the next start; partitions,
/// transformation, errors and backups land where their prefixes say.
@Suite struct BufferingDestinationTests {
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

    /// A destination writing objects under `out`; errors under `errors/!{firehose:error-output-type}/`.
    func directory(_ out: String, prefix: String = "", bufferSeconds: Int = 0, configure: (inout BufferingDestination.Settings) -> Void = { _ in }) throws -> BufferingDestination {
        let store = DirectoryStore(directory: out, namePrefix: ObjectTarget.namePrefix(stream: "s", export: "e"), logger: logger)
        let backoff = Backoff(base: .milliseconds(10), cap: .milliseconds(50))
        func target(_ template: String, _ framing: RecordFraming) throws -> ObjectTarget {
            ObjectTarget(store: store, prefix: try ObjectPrefix(template), framing: framing, compression: .none, namePrefix: "s-e-", backoff: backoff, logger: logger)
        }
        var settings = BufferingDestination.Settings()
        settings.bufferBytes = 1 << 20
        settings.bufferSeconds = bufferSeconds
        configure(&settings)
        return BufferingDestination(
            settings: settings, target: try target(prefix, RecordFraming(newline: true)),
            errorTarget: try target("errors/!{firehose:error-output-type}/", RecordFraming()),
            backupTarget: try target("backup/", RecordFraming(newline: true)), export: "e", logger: logger
        )
    }

    /// Runs an export of stream `s` into `destination` until `done`, then stops it.
    func export(_ engine: StreamEngine, into destination: BufferingDestination, until what: String, _ done: @escaping (Export) -> Bool) async throws -> Export {
        let export = Export(name: "e", kind: "files", consumer: try engine.reader.durableConsumer(stream: "s", name: "e"), destination: destination, logger: logger)
        let running = Task { await export.run() }
        try await eventually(what) { done(export) }
        running.cancel()
        await running.value
        return export
    }

    func lines(_ out: String, under prefix: String) throws -> [String] {
        var lines: [String] = []
        for name in try objects(out) where name.hasPrefix(prefix) {
            lines += try String(contentsOfFile: out + "/" + name, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        return lines
    }

    func objects(_ directory: String) throws -> [String] {
        let all = FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []
        return all.filter { !$0.hasSuffix("/") && !((try? FileManager.default.attributesOfItem(atPath: directory + "/" + $0)[.type] as? FileAttributeType) == .typeDirectory) }.sorted()
    }

    @Test func everyRecordLandsInAWholeObjectAndIsCommittedAfterIt() async throws {
        var options = EngineOptions()
        options.enforceWriteLimits = false
        let engine = try StreamEngine(dataDirectory: tmp.path + "/data", options: options, logger: logger)
        try engine.catalog.createStream(name: "s", shardCount: 2)
        let written = (0..<3000).map { "line-\($0)" }
        for chunk in stride(from: 0, to: written.count, by: 500) {
            let outcomes = try await engine.writer.ingest(stream: "s", records: written[chunk..<chunk + 500].map { PutRecordInput(partitionKey: "k\($0.count % 5)\($0.suffix(1))", data: Array($0.utf8)) })
            #expect(outcomes.allSatisfy { if case .stored = $0 { true } else { false } })
        }
        let out = tmp.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        // buffer_seconds = 0: every batch its own object, no timer to wait for.
        let export = try await export(engine, into: try directory(out, prefix: "p/"), until: "all records delivered") { $0.status().deliveredRecords >= 3000 }
        let names = try objects(out)
        #expect(!names.isEmpty && names.allSatisfy { $0.hasPrefix("p/") && $0.contains("/s-e-") && !$0.contains("/.") })
        var lines: [String] = []
        for name in names { lines += try String(contentsOfFile: out + "/" + name, encoding: .utf8).split(separator: "\n").map(String.init) }
        #expect(lines.sorted() == written.sorted())
        #expect(export.consumer.status().shards.allSatisfy { $0.recordsBehind == 0 })
    }

    @Test func aMissingDirectoryHoldsTheRecordsUntilItAppears() async throws {
        let engine = try StreamEngine(dataDirectory: tmp.path + "/data", logger: logger)
        try engine.catalog.createStream(name: "s", shardCount: 1)
        _ = try await engine.writer.putRecord(stream: "s", record: PutRecordInput(partitionKey: "k", data: Array("one".utf8)))
        let out = tmp.path + "/usb"
        let destination = try directory(out)
        let export = Export(name: "e", kind: "files", consumer: try engine.reader.durableConsumer(stream: "s", name: "e"), destination: destination, logger: logger)
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
        try engine.catalog.createStream(name: "s", shardCount: 2)
        for n in 0..<50 { _ = try await engine.writer.putRecord(stream: "s", record: PutRecordInput(partitionKey: "k\(n)", data: Array("r\(n)\n".utf8))) }
        let out = tmp.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        let destination = try directory(out, bufferSeconds: 900)
        let export = Export(name: "e", kind: "files", consumer: try engine.reader.durableConsumer(stream: "s", name: "e"), destination: destination, logger: logger)
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

    @Test func leftoversOfACrashAreRemovedAtStart() async throws {
        let out = tmp.path + "/out"
        try FileManager.default.createDirectory(atPath: out + "/2025/11", withIntermediateDirectories: true)
        for name in ["2025/11/.s-e-abc.tmp", "2025/11/.s-other-abc.tmp", "2025/11/s-e-2025.gz"] {
            FileManager.default.createFile(atPath: out + "/" + name, contents: Data("x".utf8))
        }
        await try directory(out).prepare()
        #expect(try objects(out).filter { !$0.hasSuffix("/11") && !$0.hasSuffix("2025") } == ["2025/11/.s-other-abc.tmp", "2025/11/s-e-2025.gz"])
    }

    /// Decoded error records of one output type.
    func errorRecords(_ out: String, type: String) throws -> [[String: Any]] {
        try lines(out, under: "errors/\(type)/").map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    func rawData(_ error: [String: Any]) -> String {
        String(decoding: Data(base64Encoded: error["rawData"] as? String ?? "") ?? Data(), as: UTF8.self)
    }

    @Test func partitionsPastTheOpenBoundCloseTheOldestAndUnreadableRecordsGoToErrors() async throws {
        let engine = try StreamEngine(dataDirectory: tmp.path + "/data", logger: logger)
        try engine.catalog.createStream(name: "s", shardCount: 1)
        var expected: [String: [String]] = [:]
        var unreadable: [String] = []
        for n in 0..<200 {
            let site = "site\(n % 5)"
            let data = n % 17 == 0 ? "not json \(n)" : n % 19 == 0 ? "{\"n\":\(n)}" : "{\"device\":{\"site\":\"\(site)\"},\"n\":\(n)}"
            if data.contains("site") { expected[site, default: []].append(data) } else { unreadable.append(data) }
            _ = try await engine.writer.putRecord(stream: "s", record: PutRecordInput(partitionKey: "k\(n)", data: Array(data.utf8)))
        }
        let out = tmp.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        let destination = try directory(out, prefix: "site=!{partitionKeyFromQuery:site}/", bufferSeconds: 900) {
            $0.partitioning = try? Partitioning(queries: ["site": "json.device.site"], byRecordKey: false)
            $0.maxOpenPartitions = 2
        }
        let export = Export(name: "e", kind: "files", consumer: try engine.reader.durableConsumer(stream: "s", name: "e"), destination: destination, logger: logger)
        let running = Task { await export.run() }
        var mostOpen = 0
        try await eventually("every record handed over") {
            mostOpen = max(mostOpen, destination.openPartitions)
            return destination.statistics["recordsRead"] == 200
        }

        await export.finish(within: .seconds(10))
        running.cancel()
        await running.value
        #expect(mostOpen <= 2, "never more open partitions than the bound")
        for (site, records) in expected {
            // Object names order by second only, so within a site compare as sets.
            #expect(try lines(out, under: "site=\(site)/").sorted() == records.sorted(), "each site's records under its own prefix")
            #expect(try objects(out).filter { $0.hasPrefix("site=\(site)/") }.count > 1, "the bound closed \(site)'s object before the end")
        }
        let errors = try errorRecords(out, type: "partitioning-failed")
        #expect(errors.map(rawData) == unreadable)
        #expect(errors.allSatisfy { $0["errorCode"] as? String == "DynamicPartitioning.MetadataExtractionFailed" && $0["sequenceNumber"] is String })
        #expect(export.consumer.status().shards.allSatisfy { $0.recordsBehind == 0 })
    }

    /// A Firehose-style transformation in Python: upper-cases, drops "drop…", fails "fail…".
    func script(_ body: String) throws -> String {
        let path = tmp.path + "/transform-\(UUID().uuidString).py"
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aTransformKeepsDropsAndFailsRecordsAsItAnswersAndBackupKeepsEverySourceRecord() async throws {
        let engine = try StreamEngine(dataDirectory: tmp.path + "/data", logger: logger)
        try engine.catalog.createStream(name: "s", shardCount: 2)
        let sent = (0..<60).map { $0 % 10 == 3 ? "drop-\($0)" : $0 % 10 == 7 ? "fail-\($0)" : "keep-\($0)" }
        for text in sent { _ = try await engine.writer.putRecord(stream: "s", record: PutRecordInput(partitionKey: text, data: Array(text.utf8))) }
        let transform = try script("""
            import base64, json, sys
            event = json.load(sys.stdin)
            assert event["deliveryStreamArn"].endswith("deliverystream/e") and event["records"][0]["kinesisRecordMetadata"]["partitionKey"]
            out = []
            for r in event["records"]:
                data = base64.b64decode(r["data"]).decode()
                result = "Dropped" if data.startswith("drop") else "ProcessingFailed" if data.startswith("fail") else "Ok"
                out.append({"recordId": r["recordId"], "result": result, "data": base64.b64encode(data.upper().encode()).decode()})
            json.dump({"records": out}, sys.stdout)
            """)
        let out = tmp.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        let destination = try directory(out, prefix: "data/") {
            $0.transform = RecordTransformer(command: ["/usr/bin/python3", transform], deliveryStreamArn: "arn:aws:firehose:r:1:deliverystream/e", sourceStreamArn: "arn", region: "r")
            $0.backupAll = true
        }
        let export = try await export(engine, into: destination, until: "every record handed over") { e in
            e.consumer.status().shards.allSatisfy { $0.recordsBehind == 0 }
        }
        #expect(try lines(out, under: "data/").sorted() == sent.filter { $0.hasPrefix("keep") }.map { $0.uppercased() }.sorted())
        let failed = try errorRecords(out, type: "processing-failed")
        #expect(failed.map(rawData).sorted() == sent.filter { $0.hasPrefix("fail") }.sorted())
        #expect(failed.allSatisfy { $0["errorCode"] as? String == "Transform.ProcessingFailed" })
        #expect(try lines(out, under: "backup/").sorted() == sent.sorted(), "backup = all keeps every source record as it was")
        #expect(destination.statistics["droppedRecords"] == 6)
        #expect(export.status().lastError == nil)
    }

    @Test(arguments: [
        ("import time; time.sleep(30)", "Transform.Timeout"),
        ("import sys; sys.stderr.write('bad input'); sys.exit(3)", "Transform.CommandFailed"),
        ("print('not json')", "Transform.InvalidOutput"),
        ("import json; json.dump({'records': []}, open('/dev/stdout', 'w'))", "Transform.MissingRecordId"),
    ])
    func aTransformThatFailsAsAWholeIsRetriedThenItsRecordsGoToErrors(body: String, code: String) async throws {
        let engine = try StreamEngine(dataDirectory: tmp.path + "/data", logger: logger)
        try engine.catalog.createStream(name: "s", shardCount: 1)
        for n in 0..<5 { _ = try await engine.writer.putRecord(stream: "s", record: PutRecordInput(partitionKey: "k", data: Array("r\(n)".utf8))) }
        let out = tmp.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        let command = try script("import sys\nsys.stdin.read()\n" + body + "\n")
        let destination = try directory(out) {
            var transform = RecordTransformer(command: ["/usr/bin/python3", command], deliveryStreamArn: "a", sourceStreamArn: "a", region: "r")
            transform.timeout = .seconds(1)
            transform.retries = 1
            $0.transform = transform
        }
        _ = try await export(engine, into: destination, until: "the records handed over") { e in
            e.consumer.status().shards.allSatisfy { $0.recordsBehind == 0 }
        }
        let failed = try errorRecords(out, type: "processing-failed")
        #expect(failed.map(rawData).sorted() == (0..<5).map { "r\($0)" })
        #expect(failed.allSatisfy { $0["errorCode"] as? String == code && $0["attemptsMade"] as? Int == 2 })
        #expect(try lines(out, under: "").filter { !$0.hasPrefix("{") }.isEmpty, "nothing delivered as data")
    }
}
