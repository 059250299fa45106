import FoundationEssentials
import Glibc
import SluiceStorage

/// Access control on Sluice's own API: every request must be signed (SigV4) with a known
/// access key, within the allowed clock skew, and the key's policy or the resource's
/// policy (`ResourcePolicy`) must allow the action on the stream, with no explicit Deny. Errors are Kinesis' own, so SDKs report them as they would from AWS.
public struct ApiAccessControl: Sendable {
    /// One access key and what it may do.
    public struct Key: Sendable, Equatable {
        public var accessKeyId: String
        public var secretAccessKey: String
        /// Action names or patterns (`*`, `Get*`, `PutRecord`).
        public var actions: [String]
        /// Stream names or patterns (`*`, `logs-*`).
        public var streams: [String]

        public init(accessKeyId: String, secretAccessKey: String, actions: [String], streams: [String]) {
            self.accessKeyId = accessKeyId
            self.secretAccessKey = secretAccessKey
            self.actions = actions
            self.streams = streams
        }

        /// Whether the policy allows `action` (on `stream`, for actions that name one).
        public func allows(action: String, stream: String?) -> Bool {
            guard actions.contains(where: { Self.matches($0, action) }) else { return false }
            guard let stream else { return true }
            return streams.contains { Self.matches($0, stream) }
        }

        /// Shell-style patterns (fnmatch): `*` matches any run of characters.
        static func matches(_ pattern: String, _ text: String) -> Bool {
            fnmatch(pattern, text, 0) == 0
        }
    }

    let keys: [String: Key]
    /// Requests dated further than this from the server's clock are refused (replays).
    public let maxClockSkew: TimeInterval
    let region: String
    let accountId: String

    public init(keys: [Key], maxClockSkew: TimeInterval = 300, region: String, accountId: String) {
        self.keys = Dictionary(keys.map { ($0.accessKeyId, $0) }, uniquingKeysWith: { a, _ in a })
        self.maxClockSkew = maxClockSkew
        self.region = region
        self.accountId = accountId
    }

    /// The request's parts access control looks at: the signed request, headers as
    /// received (`host` included).
    public typealias Request = SigV4.Request

    /// Checks signature, clock and policy.
    /// - Parameter streamOfIterator: the stream a shard iterator belongs to (GetRecords
    ///   names no stream; it is authorized by the stream its iterator was issued for).
    /// - Returns: the access key that signed the request.
    /// - Throws: `KinesisError` — MissingAuthenticationTokenException,
    ///   UnrecognizedClientException, InvalidSignatureException or AccessDeniedException.
    @discardableResult
    /// - Parameter resourceBody: the body as JSON when the request was sent in another
    ///   encoding (CBOR): the stream is read from it, the signature from `request.body`.
    /// - Parameter resourcePolicy: the policy document on a stream (consumer nil) or on
    ///   one of its consumers, if any.
    public func authorize(
        _ request: Request, action: String, resourceBody: [UInt8]? = nil, now: Date = Date(),
        streamOfIterator: (String) -> String?, resourcePolicy: (_ stream: String, _ consumer: String?) -> String? = { _, _ in nil }
    ) throws -> Key {
        guard let header = request.header("authorization") else {
            throw KinesisError(type: "MissingAuthenticationTokenException", message: "Missing Authentication Token", status: 403)
        }
        guard let authorization = SigV4.parseAuthorization(header) else {
            throw KinesisError(type: "IncompleteSignatureException", message: "Authorization header requires a SigV4 Credential, SignedHeaders and Signature (got \"\(header.prefix(40))...\").", status: 400)
        }
        guard let key = keys[authorization.accessKeyId] else {
            throw KinesisError(type: "UnrecognizedClientException", message: "The security token included in the request is invalid.", status: 400)
        }
        guard let amzDate = request.header("x-amz-date"), let date = SigV4.parseTimestamp(amzDate), authorization.date == amzDate.prefix(8) else {
            throw KinesisError(type: "IncompleteSignatureException", message: "The request must carry an X-Amz-Date header (yyyyMMddTHHmmssZ) matching its credential scope.", status: 400)
        }
        guard authorization.signedHeaders.contains("host"), authorization.signedHeaders.contains("x-amz-date") else {
            throw KinesisError(type: "IncompleteSignatureException", message: "The signed headers must include host and x-amz-date.", status: 400)
        }
        if abs(date.timeIntervalSince(now)) > maxClockSkew {
            throw KinesisError(type: "InvalidSignatureException", message: "Signature expired: \(amzDate) is more than \(Int(maxClockSkew)) s from the server's time \(SigV4.timestamp(now)); check the client's clock.", status: 400)
        }
        guard SigV4.verify(request, authorization: authorization, amzDate: amzDate, secret: key.secretAccessKey) else {
            throw KinesisError(type: "InvalidSignatureException", message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.", status: 400)
        }
        let resource = Self.resource(named: resourceBody ?? request.body, streamOfIterator: streamOfIterator)
        let regions = Array(Set([authorization.region, region]))
        let arns: [String] = resource.map { resource in
            regions.map { region -> String in
                let stream = "arn:aws:kinesis:\(region):\(accountId):stream/\(resource.stream)"
                return resource.consumer.map { stream + "/consumer/" + $0 } ?? stream
            }
        } ?? []
        let shown = arns.first(where: { $0.contains(":\(authorization.region):") }) ?? "*"
        // A resource policy decides with the key's own policy: an explicit Deny in it wins;
        // an Allow in either lets the request through.
        var decision = ResourcePolicy.Decision.none
        if let resource, let document = resourcePolicy(resource.stream, resource.consumer),
           let policy = try? ResourcePolicy(json: document, accountId: accountId) {
            decision = policy.decide(action: action, accessKeyId: key.accessKeyId, resources: arns)
        }
        if decision == .deny {
            throw KinesisError(type: "AccessDeniedException", message: "User: \(key.accessKeyId) is not authorized to perform: kinesis:\(action) on resource: \(shown) with an explicit deny in a resource-based policy", status: 400)
        }
        guard decision == .allow || key.allows(action: action, stream: resource?.stream) else {
            throw KinesisError(type: "AccessDeniedException", message: "User: \(key.accessKeyId) is not authorized to perform: kinesis:\(action) on resource: \(shown)", status: 400)
        }
        return key
    }

    /// What a request acts on: a stream, and the consumer when it names one.
    public struct Resource: Sendable, Equatable {
        public var stream: String
        public var consumer: String?
    }

    /// The resource a request acts on: StreamName, StreamARN, ConsumerARN or ResourceARN
    /// (a stream's or a consumer's), or a shard iterator's stream. nil for account-wide
    /// actions (ListStreams, DescribeLimits).
    static func resource(named body: [UInt8], streamOfIterator: (String) -> String?) -> Resource? {
        guard let object = try? JSONParser.parse(body), case .object = object else { return nil }
        for field in ["ConsumerARN", "ResourceARN", "StreamARN"] {
            guard let arn = object[field]?.string, let range = arn.firstRange(of: ":stream/") else { continue }
            let path = arn[range.upperBound...].split(separator: "/", omittingEmptySubsequences: false)
            let consumer = path.count >= 3 && path[1] == "consumer" ? String(path[2].split(separator: ":").first ?? "") : nil
            return Resource(stream: String(path.first ?? ""), consumer: consumer)
        }
        if let name = object["StreamName"]?.string { return Resource(stream: name) }
        if let iterator = object["ShardIterator"]?.string { return Resource(stream: streamOfIterator(iterator) ?? "(an unknown iterator)") }
        return nil
    }
}

extension SigV4.Request {
    /// A header's value by lower-case name.
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name }?.value
    }
}
