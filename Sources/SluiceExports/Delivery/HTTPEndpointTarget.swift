import AsyncHTTPClient
import FoundationEssentials
import Logging
import NIOCore
import NIOHTTP1
import SluiceKinesis
import SluiceStorage
import Synchronization

/// `kind = "http"`: closed buffers POSTed with the Firehose HTTP endpoint delivery
/// protocol (OBJECTS.md, "HTTP endpoints"), so receivers built for Firehose accept them
/// unchanged. A buffer goes as requests of at most 10,000 records and 64 MiB of body; each
/// keeps its request id across retries. A 200 whose JSON echoes the request id is
/// success; 413 is final; anything else is retried (1 s doubling to 2 min, ±15 %) until
/// `retryWindow` has passed since the first attempt, and then its records are given up
/// to the error output. Without a retry window (no error output) it retries until it
/// delivers.
public final class HTTPEndpointTarget: DeliveryTarget {
    public struct Settings: Sendable {
        public var url: String
        /// `X-Amz-Firehose-Access-Key`, read from `access_key_file`; never logged.
        public var accessKey: String?
        public var commonAttributes: [String: String] = [:]
        public var gzip = false
        public var timeout: Duration = .seconds(60)
        public var retryWindow: Duration? = .seconds(300)
        public var maxRecordsPerRequest = 10_000
        public var maxBodyBytes = 64 << 20
        public var backoffBase: Duration = .seconds(1)
        public var backoffCap: Duration = .seconds(120)

        public init(url: String) {
            self.url = url
        }
    }

    /// One failed attempt: Firehose's error code and what happened.
    struct AttemptFailure: Error {
        var code: String
        var message: String
        var final = false
    }

    public let settings: Settings
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    let logger: Logger
    private let state = Mutex<(last: String?, failure: String?)>((nil, nil))
    private let failureLog = LogRateLimit()

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public var description: String { "http endpoint \(settings.url)" }
    public var metricName: String { "DeliveryToHttpEndpoint" }
    public var lastDelivered: String? { state.withLock { $0.last } }
    public var failure: String? { state.withLock { $0.failure } }

    public func prepare() async throws {}

    public func shutdown() async { try? await http.shutdown() }

    /// The buffer's records cut into requests within the protocol's bounds.
    func requests(_ records: [BufferedRecord]) -> [[BufferedRecord]] {
        var out: [[BufferedRecord]] = []
        var current: [BufferedRecord] = []
        var bytes = 0
        for item in records {
            let size = (item.record.data.count + 2) / 3 * 4 + 16
            if !current.isEmpty, current.count >= settings.maxRecordsPerRequest || bytes + size > settings.maxBodyBytes - 256 {
                out.append(current)
                current = []
                bytes = 0
            }
            current.append(item)
            bytes += size
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// `{"requestId": …, "timestamp": ms, "records": [{"data": base64}]}`.
    static func body(requestId: String, timestampMillis: Int64, records: [BufferedRecord]) -> [UInt8] {
        var out = "{\"requestId\":\"\(requestId)\",\"timestamp\":\(timestampMillis),\"records\":["
        for (index, item) in records.enumerated() {
            out += index == 0 ? "{\"data\":\"" : ",{\"data\":\""
            out += Data(item.record.data).base64EncodedString()
            out += "\"}"
        }
        return Array((out + "]}").utf8)
    }

    public func deliver(_ buffer: ClosedBuffer) async throws -> [FailedRecord] {
        var failed: [FailedRecord] = []
        for records in requests(buffer.records) {
            failed += try await send(records)
        }
        return failed
    }

    /// Sends one request until it is accepted, refused for good or out of retry time.
    private func send(_ records: [BufferedRecord]) async throws -> [FailedRecord] {
        let requestId = UUID().uuidString.lowercased()
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await post(records, requestId: requestId)
                state.withLock { $0 = (requestId, nil) }
                return []
            } catch let failure as AttemptFailure {
                state.withLock { $0.failure = "\(failure.code): \(failure.message)" }
                let delay = self.delay(attempt: attempt)
                let outOfTime = settings.retryWindow.map { ContinuousClock.now - started + delay > $0 } ?? false
                if failure.final || outOfTime {
                    logger.error("the HTTP endpoint did not take a request; its records go to the error output", metadata: [
                        "endpoint": "\(settings.url)", "request_id": "\(requestId)", "records": "\(records.count)", "attempts": "\(attempt)",
                        "error": "\(failure.code): \(failure.message)",
                    ])
                    let now = Int64(Date().timeIntervalSince1970 * 1000)
                    return records.map {
                        FailedRecord(source: $0, outputType: "http-endpoint-failed", errorCode: failure.code, errorMessage: failure.message, attemptsMade: attempt, attemptEndingMillis: now)
                    }
                }
                failureLog.log(logger, .warning, "the HTTP endpoint did not take a request; it is sent again", metadata: [
                    "endpoint": "\(settings.url)", "request_id": "\(requestId)", "error": "\(failure.code): \(failure.message)",
                ])
                try await Task.sleep(for: delay)
            }
        }
    }

    /// Attempt n waits base × 2ⁿ⁻¹, capped, ±15 %.
    func delay(attempt: Int) -> Duration {
        let ceiling = min(settings.backoffCap, settings.backoffBase * (1 << min(max(attempt - 1, 0), 30)))
        return ceiling * Double.random(in: 0.85...1.15)
    }

    private func post(_ records: [BufferedRecord], requestId: String) async throws {
        var request = HTTPClientRequest(url: settings.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Amz-Firehose-Protocol-Version", value: "1.0")
        request.headers.add(name: "X-Amz-Firehose-Request-Id", value: requestId)
        if let key = settings.accessKey { request.headers.add(name: "X-Amz-Firehose-Access-Key", value: key) }
        if !settings.commonAttributes.isEmpty {
            let fields = settings.commonAttributes.sorted { $0.key < $1.key }.map { "\(JSONText.quoted($0.key)):\(JSONText.quoted($0.value))" }
            request.headers.add(name: "X-Amz-Firehose-Common-Attributes", value: "{\"commonAttributes\":{\(fields.joined(separator: ","))}}")
        }
        var body = Self.body(requestId: requestId, timestampMillis: Int64(Date().timeIntervalSince1970 * 1000), records: records)
        if settings.gzip {
            body = try Compression.gzip.compress(body)
            request.headers.add(name: "Content-Encoding", value: "gzip")
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .nanoseconds(Int64(settings.timeout / .nanoseconds(1))))
            answer = try await response.body.collect(upTo: 1 << 20)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw AttemptFailure(code: "HttpEndpoint.RequestTimeout", message: "no answer within \(settings.timeout)")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw AttemptFailure(code: "HttpEndpoint.ConnectionFailed", message: "\(error)")
        }
        let text = String(buffer: answer)
        if response.status.code == 413 {
            throw AttemptFailure(code: "HttpEndpoint.RequestEntityTooLarge", message: "the endpoint answered 413: \(text.prefix(200))", final: true)
        }
        guard response.status.code == 200 else {
            throw AttemptFailure(code: "HttpEndpoint.ResponseCodeError", message: "the endpoint answered \(response.status.code): \(text.prefix(200))")
        }
        let echoed = (try? JSONParser.parse(Array(text.utf8)))?["requestId"]?.string
        guard echoed == requestId else {
            throw AttemptFailure(code: "HttpEndpoint.InvalidResponseFromDestination", message: "a 200 whose body does not echo requestId \(requestId): \(text.prefix(200))")
        }
    }
}
