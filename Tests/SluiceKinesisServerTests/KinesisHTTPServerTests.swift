import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import SluiceEngine
import SluiceKinesis
import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceKinesisServer

/// The real HTTP server on an ephemeral loopback port, driven by the real client.
@Suite struct KinesisHTTPServerTests {
    /// Runs the server for the duration of `body`, which gets the endpoint URL.
    func withServer(_ body: @Sendable (String) async throws -> Void) async throws {
        let tmp = TemporaryDirectory("sluice-http")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let engine = try StreamEngine(dataDirectory: tmp.path, logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: KinesisHTTPServer.router(dispatcher: KinesisDispatcher(engine: engine), logger: logger),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress!.port!) },
            logger: logger
        )
        let server = Task { try await app.runService() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next()!
        do {
            try await body("http://127.0.0.1:\(port)")
        } catch {
            server.cancel()
            throw error
        }
        server.cancel()
        _ = await server.result
        await engine.close()
    }

    @Test func clientAndServerAgree() async throws {
        try await withServer { endpoint in
            let client = KinesisClient(endpoint: endpoint)
            try await client.createStream("h", shardCount: 2)
            let put = try await client.putRecord("h", partitionKey: "user1", data: Data("user signup".utf8))
            #expect(put.ShardId == "shardId-000000000000")
            let batch = try await client.putRecords("h", records: (0..<10).map { PutRecordsRequestEntry(Data: Data("\($0)".utf8), PartitionKey: "k\($0)") })
            #expect(batch.FailedRecordCount == 0)
            var total = 0
            for shard in try await client.listShards("h") {
                let iterator = try await client.shardIterator("h", shardId: shard.ShardId, type: "TRIM_HORIZON")
                total += try await client.getRecords(iterator).Records.count
            }
            #expect(total == 11)
            do {
                _ = try await client.putRecord("missing", partitionKey: "k", data: Data([1]))
                Issue.record("expected ResourceNotFoundException")
            } catch let error as KinesisError {
                #expect(error.type == "ResourceNotFoundException")
                #expect(error.status == 400)
            }
            try await client.shutdown()
        }
    }

    @Test func rawRequestsGetAWSErrorShapes() async throws {
        try await withServer { endpoint in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            func post(_ target: String?, _ body: [UInt8]) async throws -> (Int, [String: String]) {
                var request = HTTPClientRequest(url: endpoint + "/")
                request.method = .POST
                if let target { request.headers.add(name: "X-Amz-Target", value: target) }
                request.headers.add(name: "Content-Type", value: "application/x-amz-json-1.1")
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await http.execute(request, timeout: .seconds(10))
                let data = try await response.body.collect(upTo: 1 << 20)
                #expect(response.headers["Content-Type"].first == "application/x-amz-json-1.1")
                return (Int(response.status.code), (try? JSONSerialization.jsonObject(with: Data(buffer: data))) as? [String: String] ?? [:])
            }
            let (status, body) = try await post("Kinesis_20131202.PutRecord", Array("{oops".utf8))
            #expect(status == 400 && body["__type"] == "SerializationException")
            let (noTarget, unknown) = try await post(nil, Array("{}".utf8))
            #expect(noTarget == 400 && unknown["__type"] == "UnknownOperationException")
            let (tooLarge, large) = try await post("Kinesis_20131202.PutRecords", [UInt8](repeating: 0x20, count: KinesisHTTPServer.maxRequestBody + 1))
            #expect(tooLarge == 413 && large["__type"] == "ValidationException")
            try await http.shutdown()
        }
    }
}
