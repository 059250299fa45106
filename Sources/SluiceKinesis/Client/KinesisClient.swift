import AsyncHTTPClient
import FoundationEssentials
import NIOCore
import NIOHTTP1
import SluiceStorage

/// A small Kinesis client: one method per action used by `sluice`, over AWS JSON 1.1.
/// Errors come back as `KinesisError`, exactly as the server (or AWS) sent them.
public final class KinesisClient: Sendable {
    /// How requests are signed (SigV4), for endpoints that check (AWS, sluiced with [auth]).
    public struct Signing: Sendable {
        public var region: String
        public var credentials: AWSCredentialsProvider

        public init(region: String, credentials: AWSCredentialsProvider) {
            self.region = region
            self.credentials = credentials
        }
    }

    public let endpoint: String
    let http: HTTPClient
    let timeout: TimeAmount
    let signing: Signing?
    /// `host[:port]` of the endpoint: the Host header, which is signed.
    let authority: String

    /// - Parameter endpoint: a base URL such as `http://127.0.0.1:4567`.
    public init(endpoint: String, timeout: TimeAmount = .seconds(30), signing: Signing? = nil) {
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.endpoint = base
        self.http = HTTPClient(eventLoopGroupProvider: .singleton)
        self.timeout = timeout
        self.signing = signing
        let afterScheme = base.firstRange(of: "://").map { base[$0.upperBound...] } ?? base[...]
        authority = String(afterScheme.prefix { $0 != "/" })
    }

    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// Sends `action` with `input` and decodes the output.
    /// - Parameter targetPrefix: the API's target prefix (sluiced's own actions use another).
    public func call<Input: Encodable, Output: Decodable>(
        _ action: String, _ input: Input, as _: Output.Type = Output.self, targetPrefix: String = KinesisWire.targetPrefix
    ) async throws -> Output {
        var request = HTTPClientRequest(url: endpoint + "/")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: KinesisWire.contentType)
        request.headers.add(name: "X-Amz-Target", value: targetPrefix + action)
        let payload = Array(try JSONEncoder().encode(input))
        if let signing {
            request.headers.add(name: "Host", value: authority)
            let headers: [(name: String, value: String)] = request.headers.map { (name: $0.name, value: $0.value) }
            let credentials = try signing.credentials.credentials()
            let added = SigV4.sign(SigV4.Request(method: "POST", headers: headers, body: payload), credentials: credentials, region: signing.region)
            for header in added { request.headers.add(name: header.name, value: header.value) }
        }
        request.body = .bytes(ByteBuffer(bytes: payload))
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw KinesisError(type: "ConnectionError", message: "cannot reach \(endpoint): \(error); is sluiced running and listening there?", status: 0)
        }
        let body = try await response.body.collect(upTo: 64 << 20)
        let data = Data(body.readableBytesView)
        guard response.status == .ok else {
            let object = try? JSONParser.parse(data)
            let type = object?["__type"]?.string.map { $0.split(separator: "#").last.map(String.init) ?? $0 } ?? "HTTP\(response.status.code)"
            let message = object?["message"]?.string ?? object?["Message"]?.string ?? String(decoding: data, as: UTF8.self)
            throw KinesisError(type: type, message: message, status: Int(response.status.code))
        }
        do {
            return try JSONDecoder().decode(Output.self, from: data.isEmpty ? Data("{}".utf8) : data)
        } catch {
            throw KinesisError(type: "SerializationException", message: "unexpected \(action) response: \(error)", status: 0)
        }
    }
}

extension KinesisClient {
    /// GETs one of sluiced's own pages beside the API (`/status`, `/health`).
    public func get(_ path: String) async throws -> Data {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = .GET
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw KinesisError(type: "ConnectionError", message: "cannot reach \(endpoint): \(error); is sluiced running and listening there?", status: 0)
        }
        let body = Data(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        guard response.status == .ok else {
            throw KinesisError(type: "HTTP\(response.status.code)", message: String(decoding: body, as: UTF8.self), status: Int(response.status.code))
        }
        return body
    }
}

/// Typed calls for the actions `sluice` uses.
extension KinesisClient {
    public func createStream(_ name: String, shardCount: Int?, onDemand: Bool = false) async throws {
        _ = try await call("CreateStream", CreateStreamInput(
            StreamName: name, ShardCount: shardCount,
            StreamModeDetails: StreamModeDetailsShape(StreamMode: onDemand ? "ON_DEMAND" : "PROVISIONED")
        ), as: EmptyShape.self)
    }

    public func deleteStream(_ name: String) async throws {
        _ = try await call("DeleteStream", StreamReference(StreamName: name), as: EmptyShape.self)
    }

    public func listStreams() async throws -> [StreamSummaryShape] {
        var all: [StreamSummaryShape] = []
        var token: String?
        repeat {
            let page = try await call("ListStreams", ListStreamsInput(NextToken: token), as: ListStreamsOutput.self)
            all += page.StreamSummaries
            token = page.HasMoreStreams ? page.NextToken : nil
        } while token != nil
        return all
    }

    public func describeStreamSummary(_ name: String) async throws -> StreamDescriptionSummaryShape {
        try await call("DescribeStreamSummary", StreamReference(StreamName: name), as: DescribeStreamSummaryOutput.self).StreamDescriptionSummary
    }

    public func listShards(_ name: String) async throws -> [ShardShape] {
        var shards: [ShardShape] = []
        var page = try await call("ListShards", ListShardsInput(StreamName: name), as: ListShardsOutput.self)
        shards += page.Shards
        while let token = page.NextToken {
            page = try await call("ListShards", ListShardsInput(StreamName: nil, NextToken: token), as: ListShardsOutput.self)
            shards += page.Shards
        }
        return shards
    }

    public func putRecord(_ stream: String, partitionKey: String, data: Data, explicitHashKey: String? = nil) async throws -> PutRecordOutput {
        try await call("PutRecord", PutRecordInput(StreamName: stream, Data: data, PartitionKey: partitionKey, ExplicitHashKey: explicitHashKey), as: PutRecordOutput.self)
    }

    public func putRecords(_ stream: String, records: [PutRecordsRequestEntry]) async throws -> PutRecordsOutput {
        try await call("PutRecords", PutRecordsInput(StreamName: stream, Records: records), as: PutRecordsOutput.self)
    }

    public func shardIterator(_ stream: String, shardId: String, type: String, sequenceNumber: String? = nil, timestamp: Double? = nil) async throws -> String {
        try await call("GetShardIterator", GetShardIteratorInput(
            StreamName: stream, ShardId: shardId, ShardIteratorType: type,
            StartingSequenceNumber: sequenceNumber, Timestamp: timestamp
        ), as: GetShardIteratorOutput.self).ShardIterator
    }

    public func getRecords(_ iterator: String, limit: Int? = nil) async throws -> GetRecordsOutput {
        try await call("GetRecords", GetRecordsInput(ShardIterator: iterator, Limit: limit), as: GetRecordsOutput.self)
    }
}
