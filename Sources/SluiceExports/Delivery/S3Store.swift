import AsyncHTTPClient
import Crypto
import FoundationEssentials
import Logging
import NIOCore
import NIOHTTP1
import SluiceKinesis

/// Objects in an S3-compatible bucket (Amazon S3, MinIO, Ceph): PutObject up to
/// `multipartThreshold`, multipart upload above it (parts of `partBytes`, the upload
/// aborted when a part fails), SigV4 with service `s3` and a signed payload hash.
/// Virtual-host style (`bucket.host/key`) or path style (`host/bucket/key`).
///
/// An object is visible only once PutObject or CompleteMultipartUpload answered 200, so a
/// crash during an upload leaves at most an unfinished multipart upload, which
/// `removeLeftovers` aborts at the next start.
public final class S3Store: ObjectStore {
    public struct Settings: Sendable, Equatable {
        public var bucket: String
        /// A base URL (`https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`).
        public var endpoint: String
        public var region: String
        public var pathStyle: Bool
        public var multipartThreshold = 16 << 20
        public var partBytes = 8 << 20
        public var timeout: TimeAmount = .seconds(120)

        public init(bucket: String, endpoint: String, region: String, pathStyle: Bool) {
            self.bucket = bucket
            self.endpoint = endpoint
            self.region = region
            self.pathStyle = pathStyle
        }
    }

    /// An S3 error answer (or no answer), in S3's words.
    public struct S3Error: Error, CustomStringConvertible {
        public var status: Int
        public var code: String
        public var message: String
        public var description: String { "S3 \(status == 0 ? "unreachable" : "HTTP \(status)") \(code): \(message)" }
    }

    public let settings: Settings
    let credentials: AWSCredentialsProvider
    /// `<stream>-<export>-`, whose unfinished uploads a start aborts.
    let namePrefix: String
    let http: HTTPClient
    let logger: Logger
    let scheme: String
    let authority: String

    public init(settings: Settings, credentials: AWSCredentialsProvider, namePrefix: String, logger: Logger) {
        self.settings = settings
        self.credentials = credentials
        self.namePrefix = namePrefix
        self.logger = logger
        http = HTTPClient(eventLoopGroupProvider: .singleton)
        let base = settings.endpoint.hasSuffix("/") ? String(settings.endpoint.dropLast()) : settings.endpoint
        let schemeEnd = base.firstRange(of: "://")
        scheme = schemeEnd.map { String(base[..<$0.lowerBound]) } ?? "https"
        let host = String((schemeEnd.map { base[$0.upperBound...] } ?? base[...]).prefix { $0 != "/" })
        authority = settings.pathStyle ? host : "\(settings.bucket).\(host)"
    }

    public var description: String { "s3://\(settings.bucket) at \(settings.endpoint)" }
    public var metricName: String { "DeliveryToS3" }

    public func shutdown() async { try? await http.shutdown() }

    /// The request's path before encoding: `/key` (virtual host) or `/bucket/key`.
    func rawPath(key: String) -> String {
        settings.pathStyle ? "/\(settings.bucket)/\(key)" : "/\(key)"
    }

    /// The URL for `key` (nil: the bucket itself) with `query` pairs (a nil value: a bare name).
    func url(key: String?, query: [(String, String?)]) -> (url: String, path: String, query: String) {
        let path = SigV4.canonicalPath(key.map(rawPath(key:)) ?? (settings.pathStyle ? "/\(settings.bucket)" : "/"))
        let queryText = query.map { name, value in SigV4.uriEncode(name) + (value.map { "=" + SigV4.uriEncode($0) } ?? "") }.joined(separator: "&")
        return ("\(scheme)://\(authority)\(path)\(queryText.isEmpty ? "" : "?" + queryText)", path, queryText)
    }

    /// Sends one signed request; returns the answer when it is 2xx. - Throws: `S3Error`.
    func send(_ method: HTTPMethod, key: String?, query: [(String, String?)] = [], body: [UInt8] = []) async throws -> (headers: HTTPHeaders, body: [UInt8]) {
        let target = url(key: key, query: query)
        var request = HTTPClientRequest(url: target.url)
        request.method = method
        let payloadHash = SigV4.hex(SHA256.hash(data: body))
        var headers: [(name: String, value: String)] = [("host", authority), ("x-amz-content-sha256", payloadHash)]
        let signing = SigV4.Request(method: method.rawValue, path: target.path, query: target.query, headers: headers, body: body)
        let keys: SigV4.Credentials
        do { keys = try credentials.credentials() } catch {
            throw S3Error(status: 0, code: "MissingCredentials", message: "\(error)")
        }
        headers += SigV4.sign(signing, credentials: keys, region: settings.region, service: "s3")
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        request.headers.add(name: "Content-Length", value: String(body.count))
        if !body.isEmpty { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: settings.timeout)
        } catch {
            throw S3Error(status: 0, code: "ConnectionError", message: "cannot reach \(settings.endpoint): \(error)")
        }
        let answer = Array(buffer: try await response.body.collect(upTo: 16 << 20))
        let text = String(decoding: answer, as: UTF8.self)
        guard (200..<300).contains(response.status.code), !text.contains("<Error>") else {
            throw S3Error(
                status: Int(response.status.code), code: XMLText.values("Code", in: text).first ?? "HTTP\(response.status.code)",
                message: XMLText.values("Message", in: text).first ?? String(text.prefix(200))
            )
        }
        return (response.headers, answer)
    }

    public func put(key: String, content: [UInt8]) async throws {
        if content.count <= settings.multipartThreshold {
            _ = try await send(.PUT, key: key, body: content)
            return
        }
        let created = try await send(.POST, key: key, query: [("uploads", nil)])
        guard let uploadId = XMLText.values("UploadId", in: String(decoding: created.body, as: UTF8.self)).first else {
            throw S3Error(status: 200, code: "MalformedResponse", message: "CreateMultipartUpload answered no UploadId")
        }
        do {
            var parts: [String] = []
            var start = 0
            while start < content.count {
                let end = min(content.count, start + settings.partBytes)
                let answer = try await send(.PUT, key: key, query: [("partNumber", String(parts.count + 1)), ("uploadId", uploadId)], body: Array(content[start..<end]))
                guard let etag = answer.headers.first(name: "ETag") else {
                    throw S3Error(status: 200, code: "MalformedResponse", message: "UploadPart answered no ETag")
                }
                parts.append(etag)
                start = end
            }
            let list = parts.enumerated().map { "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(XMLText.escaped($0.element))</ETag></Part>" }.joined()
            _ = try await send(.POST, key: key, query: [("uploadId", uploadId)], body: Array("<CompleteMultipartUpload>\(list)</CompleteMultipartUpload>".utf8))
        } catch {
            _ = try? await send(.DELETE, key: key, query: [("uploadId", uploadId)])
            throw error
        }
    }

    /// Aborts this export's unfinished multipart uploads (a crash during an upload).
    public func removeLeftovers() async throws {
        let listed = try await send(.GET, key: nil, query: [("uploads", nil)])
        let text = String(decoding: listed.body, as: UTF8.self)
        for upload in XMLText.values("Upload", in: text) {
            guard let key = XMLText.values("Key", in: upload).first, let id = XMLText.values("UploadId", in: upload).first,
                  (key.split(separator: "/").last.map(String.init) ?? key).hasPrefix(namePrefix) else { continue }
            _ = try await send(.DELETE, key: key, query: [("uploadId", id)])
            logger.notice("aborted an upload a crash left unfinished (its records are exported again)", metadata: ["bucket": "\(settings.bucket)", "key": "\(key)"])
        }
    }
}

/// The little XML S3 answers need: element texts by tag, the five predefined entities.
enum XMLText {
    /// The texts of every `<tag>…</tag>` in `text`, entities decoded.
    static func values(_ tag: String, in text: String) -> [String] {
        var out: [String] = []
        var rest = text[...]
        while let open = rest.firstRange(of: "<\(tag)>"), let close = rest[open.upperBound...].firstRange(of: "</\(tag)>") {
            out.append(unescaped(String(rest[open.upperBound..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return out
    }

    static func unescaped(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacing("&lt;", with: "<").replacing("&gt;", with: ">")
            .replacing("&quot;", with: "\"").replacing("&apos;", with: "'")
            .replacing("&#34;", with: "\"").replacing("&amp;", with: "&")
    }

    static func escaped(_ text: String) -> String {
        text.replacing("&", with: "&amp;").replacing("<", with: "&lt;")
            .replacing(">", with: "&gt;").replacing("\"", with: "&quot;")
    }
}
