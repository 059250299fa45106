import Foundation
import Logging
import SluiceEngine
import SluiceExports
import SluiceKinesis
import SluiceStorage
import SluiceTestSupport
import Testing

/// `Sluice_20261130.*` requests are a client's bytes: every bad one is answered with a
/// Kinesis-shaped error naming the problem, and a good one pauses, resumes and rewinds.
@Suite struct ExportControlTests {
    let tmp = TemporaryDirectory("sluice-exports")

    /// A destination that takes everything at once (the control is what is tested).
    struct Accepting: ExportDestination {
        var description: String { "accepting" }
        var statistics: [String: UInt64] { [:] }
        var failure: String? { nil }
        func submit(_ batch: ConsumerBatch, stream: String) async throws -> DeliveryReceipt { .delivered() }
        func shutdown() async {}
    }

    func control() throws -> (ExportControl, Export) {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let engine = try StreamEngine(dataDirectory: tmp.path, logger: logger)
        try engine.catalog.createStream(name: "s", shardCount: 1)
        let export = Export(name: "e", kind: "test", consumer: try engine.reader.durableConsumer(stream: "s", name: "e"), destination: Accepting(), logger: logger)
        return (ExportControl(exports: [export]), export)
    }

    func refusal(_ control: ExportControl, _ action: String, _ body: String) async -> KinesisError? {
        do {
            _ = try await control.handle(action: action, body: Data(body.utf8))
            return nil
        } catch {
            return error as? KinesisError
        }
    }

    @Test func badRequestsGetKinesisShapedErrors() async throws {
        let (control, _) = try control()
        let cases: [(String, String, String)] = [
            ("PauseExport", "{", "SerializationException"),
            ("PauseExport", "[]", "SerializationException"),
            ("PauseExport", "{\"ExportName\": 7}", "SerializationException"),
            ("PauseExport", "{}", "ValidationException"),
            ("PauseExport", "{\"ExportName\": \"nope\"}", "ResourceNotFoundException"),
            ("ResumeExport", "{\"ExportName\": \"e\", \"From\": \"YESTERDAY\"}", "ValidationException"),
            ("ResumeExport", "{\"ExportName\": \"e\", \"From\": \"AT_TIMESTAMP\"}", "InvalidArgumentException"),
            ("ResumeExport", "{\"ExportName\": \"e\", \"From\": \"AT_TIMESTAMP\", \"Timestamp\": -1}", "InvalidArgumentException"),
            ("ResumeExport", "{\"ExportName\": \"e\", \"From\": \"AT_TIMESTAMP\", \"Timestamp\": 1e300}", "InvalidArgumentException"),
            ("ResumeExport", "{\"ExportName\": \"e\", \"From\": \"AT_TIMESTAMP\", \"Timestamp\": 1e400}", "SerializationException"),
            ("ResumeExport", "{\"ExportName\": \"e\", \"Timestamp\": 5}", "InvalidArgumentException"),
            ("DropExport", "{}", "UnknownOperationException"),
        ]
        for (action, body, type) in cases {
            let error = await refusal(control, action, body)
            #expect(error?.type == type, "\(action) \(body): \(String(describing: error))")
            #expect((error?.status ?? 0) >= 400 && (error?.status ?? 0) < 500)
        }
    }

    @Test func pauseResumeAndRewindChangeTheConsumer() async throws {
        let (control, export) = try control()
        _ = try await control.handle(action: "PauseExport", body: Data("{\"ExportName\": \"e\"}".utf8))
        #expect(export.consumer.isPaused)
        let listed = try JSONDecoder().decode(ExportControl.ListOutput.self, from: try await control.handle(action: "ListExports", body: Data()))
        #expect(listed.Exports.map(\.name) == ["e"] && listed.Exports[0].consumer.paused)
        _ = try await control.handle(action: "ResumeExport", body: Data("{\"ExportName\": \"e\", \"From\": \"LATEST\"}".utf8))
        #expect(!export.consumer.isPaused)
    }
}
