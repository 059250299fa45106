import FoundationEssentials
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import SluiceEngine
import SluiceKinesis
import SluiceStorage

/// The Kinesis-compatible HTTP API: AWS JSON 1.1 or CBOR (`CBOR.md`), over HTTP/1.1 or HTTP/2, `POST /` with
/// `X-Amz-Target: Kinesis_20131202.<Action>`, plus `GET /health`.
public enum KinesisHTTPServer {
    public static let targetPrefix = KinesisWire.targetPrefix
    public static let contentType = KinesisWire.contentType
    /// PutRecords carries up to 5 MiB of data, base64 inflates it by a third, JSON adds keys.
    public static let maxRequestBody = 8 << 20

    static let targetHeader = HTTPField.Name("X-Amz-Target")!
    static let requestIdHeader = HTTPField.Name("x-amzn-RequestId")!
    /// The error's type, which SDKs read before the body (the Java SDK's CBOR client).
    static let errorTypeHeader = HTTPField.Name("x-amzn-ErrorType")!
    /// Server-side failures repeat with every retry (a full disk): one line per 10 s at most.
    static let failureLog = LogRateLimit()

    /// Actions of another JSON API served beside Kinesis' on the same listener (sluiced's
    /// own, such as `Sluice_20261130.PauseExport`): the action name and body in, the
    /// response body out; errors as `KinesisError`.
    public typealias ExtraActions = @Sendable (_ action: String, _ body: FoundationEssentials.Data) async throws -> FoundationEssentials.Data

    /// The router with the Kinesis endpoint; callers may add routes (metrics) before
    /// building the application.
    /// - Parameters:
    ///   - accessControl: when set, every request must be signed by one of its keys and
    ///     allowed by that key's policy (the extra actions too, by their names).
    ///   - extra: further targets by their prefix (`Sluice_20261130.`).
    public static func router(
        dispatcher: KinesisDispatcher, accessControl: ApiAccessControl? = nil, extra: [String: ExtraActions] = [:], logger: Logger
    ) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.post("/") { request, _ -> Response in
            await respond(to: request, dispatcher: dispatcher, accessControl: accessControl, extra: extra, logger: logger)
        }
        router.get("/health") { _, _ -> String in "ok\n" }
        return router
    }

    static func respond(to request: Request, dispatcher: KinesisDispatcher, accessControl: ApiAccessControl?, extra: [String: ExtraActions] = [:], logger: Logger) async -> Response {
        var request = request
        let requestId = UUID().uuidString
        let format = KinesisBodyFormat(contentType: request.headers[.contentType])
        do {
            let target = request.headers[targetHeader] ?? ""
            let extraTarget = extra.first { target.hasPrefix($0.key) }
            guard target.hasPrefix(targetPrefix) || extraTarget != nil else {
                throw KinesisError.unknownOperation(target.isEmpty ? "(no X-Amz-Target header)" : target)
            }
            let prefix = extraTarget?.key ?? targetPrefix
            let received: ByteBuffer
            do {
                received = try await request.collectBody(upTo: maxRequestBody)
            } catch is NIOTooManyBytesError {
                throw KinesisError(type: "ValidationException", message: "The request body is larger than \(maxRequestBody) bytes; PutRecords accepts at most 500 records and 5 MiB.", status: 413)
            } catch {
                // A bad chunk size, a body cut short before the connection closed, a
                // Content-Length that lies: the client's bytes, not its size, are wrong.
                throw KinesisError.serialization("The request body is malformed or was cut short before its declared end (\(error)); send the whole body with a correct Content-Length or valid chunked encoding.")
            }
            // CBOR bodies are read as the JSON they stand for; the signature covers the
            // bytes as sent.
            let body = format == .json ? received : ByteBuffer(bytes: try format.jsonRequest(received.readableBytesView))
            let action = String(target.dropFirst(prefix.count))
            if let accessControl {
                // Firehose's actions are named `firehose:Action` in key policies, apart from
                // Kinesis' PutRecord of the same name.
                let policyAction = prefix == "Firehose_20150804." ? "firehose:" + action : action
                try authorize(request, received: received, body: body, action: policyAction, accessControl: accessControl, dispatcher: dispatcher, logger: logger)
            }
            if let run = extraTarget?.value {
                return response(status: .ok, json: try await run(action, Data(buffer: body)), format: format, requestId: requestId)
            }
            let regional = dispatcher.answering(inRegion: signingRegion(of: request))
            if action == "SubscribeToShard" {
                return try subscribe(body: Data(buffer: body), dispatcher: regional, format: format, requestId: requestId)
            }
            let output = try await regional.handle(action: action, body: body)
            return response(status: .ok, json: output, format: format, requestId: requestId)
        } catch {
            let kinesisError = (error as? KinesisError) ?? KinesisError(type: "InternalFailure", message: "\(error)", status: 500)
            if kinesisError.status >= 500 {
                failureLog.log(logger, .error, "request failed", metadata: ["error": "\(kinesisError)", "request_id": "\(requestId)"])
            }
            var answer = response(status: HTTPResponse.Status(code: kinesisError.status), json: kinesisError.body, format: format, requestId: requestId)
            answer.headers[errorTypeHeader] = kinesisError.type
            return answer
        }
    }

    /// The region of the request's SigV4 credential scope, when it is signed with a
    /// plausible region name (lower-case letters, digits and dashes, at most 32): the ARNs
    /// in the answer name it. nil otherwise (the configured region).
    static func signingRegion(of request: Request) -> String? {
        guard let header = request.headers[.authorization], let authorization = SigV4.parseAuthorization(header) else { return nil }
        let region = authorization.region
        guard (1...32).contains(region.utf8.count), region.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }) else {
            return nil
        }
        return region
    }

    /// Refuses the request unless it is signed by a known key whose policy allows it.
    /// Refusals are logged at notice level with the key id (never the secret).
    static func authorize(_ request: Request, received: ByteBuffer, body: ByteBuffer, action: String, accessControl: ApiAccessControl, dispatcher: KinesisDispatcher, logger: Logger) throws {
        var headers = request.headers.map { (name: $0.name.canonicalName, value: $0.value) }
        if let authority = request.head.authority { headers.append((name: "host", value: authority)) }
        let signed = ApiAccessControl.Request(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "", headers: headers,
            body: Array(buffer: received)
        )
        do {
            let resourceBody = received == body ? nil : Array(buffer: body)
            try accessControl.authorize(signed, action: action, resourceBody: resourceBody) {
                dispatcher.engine.reader.streamName(ofIterator: $0)
            } resourcePolicy: { stream, consumer in
                try? dispatcher.engine.catalog.resourcePolicy(stream: stream, consumer: consumer)
            }
        } catch let error as KinesisError {
            let credential = request.headers[.authorization].flatMap(SigV4.parseAuthorization)?.accessKeyId ?? "(none)"
            logger.notice("API request refused", metadata: ["action": "\(action)", "access_key_id": "\(credential)", "error": "\(error.type)"])
            throw error
        }
    }

    /// SubscribeToShard: errors before the stream starts are ordinary error responses;
    /// after that, events go out as event-stream messages over a chunked response.
    static func subscribe(body: Data, dispatcher: KinesisDispatcher, format: KinesisBodyFormat, requestId: String) throws -> Response {
        let subscription = try dispatcher.openSubscription(body)
        let stream = SubscriptionStream(dispatcher: dispatcher, subscription: subscription, duration: dispatcher.subscriptionDuration, format: format)
        var headers = HTTPFields()
        headers[.contentType] = EventStreamMessage.contentType
        headers[requestIdHeader] = requestId
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await stream.run { message in try await writer.write(ByteBuffer(bytes: message)) }
            try await writer.finish(nil)
        })
    }

    /// A response whose body is `json` in `format`. JSON that cannot be re-encoded (a
    /// server bug) goes out as the JSON it is, labelled so.
    static func response(status: HTTPResponse.Status, json: some Collection<UInt8>, format: KinesisBodyFormat = .json, requestId: String) -> Response {
        let encoded = try? format.encode(json: json)
        var headers = HTTPFields()
        headers[.contentType] = encoded == nil ? contentType : format.contentType
        headers[requestIdHeader] = requestId
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: encoded ?? Array(json))))
    }
}
