import SluiceStorage

/// The constants of Kinesis' AWS JSON 1.1 protocol that a client and a server share.
public enum KinesisWire {
    /// `X-Amz-Target` is this prefix followed by the action's name.
    public static let targetPrefix = "Kinesis_20131202."
    public static let contentType = "application/x-amz-json-1.1"
}

/// How a request's and its response's bodies are encoded, chosen by the request's
/// `Content-Type`: AWS JSON 1.1 (boto3, the aws cli, the Go and JavaScript SDKs) or CBOR
/// (the Java SDKs and the KCL by default; `CBOR.md`).
public enum KinesisBodyFormat: Sendable, Equatable {
    case json
    case cbor

    /// CBOR for `application/x-amz-cbor-1.1` (parameters ignored), JSON otherwise.
    public init(contentType: String?) {
        let type = contentType?.split(separator: ";").first?.trimmingWhitespace().lowercased()
        self = type == KinesisCBOR.contentType ? .cbor : .json
    }

    public var contentType: String {
        switch self {
        case .json: KinesisWire.contentType
        case .cbor: KinesisCBOR.contentType
        }
    }

    /// The `:content-type` of an event-stream message's payload (AWS labels JSON events
    /// `application/json`, not the protocol's own type).
    public var eventContentType: String {
        switch self {
        case .json: "application/json"
        case .cbor: KinesisCBOR.contentType
        }
    }

    /// A request body as the JSON the dispatcher reads.
    public func jsonRequest(_ body: some Collection<UInt8>) throws -> [UInt8] {
        switch self {
        case .json: Array(body)
        case .cbor: try KinesisCBOR.json(fromCBOR: body)
        }
    }

    /// A JSON response, error or event payload in this format.
    public func encode(json body: some Collection<UInt8>) throws -> [UInt8] {
        switch self {
        case .json: Array(body)
        case .cbor: try KinesisCBOR.cbor(fromJSON: body)
        }
    }
}
