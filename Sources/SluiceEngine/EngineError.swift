/// The one error type of the engine. Its kinds are Kinesis' own exception names, because
/// that is the vocabulary every client already understands; the API layer maps each to
/// the wire shape in one place.
public struct EngineError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case resourceNotFound = "ResourceNotFoundException"
        case resourceInUse = "ResourceInUseException"
        case invalidArgument = "InvalidArgumentException"
        case validation = "ValidationException"
        case limitExceeded = "LimitExceededException"
        case provisionedThroughputExceeded = "ProvisionedThroughputExceededException"
        case expiredIterator = "ExpiredIteratorException"
        case kmsNotFound = "KMSNotFoundException"
        case internalFailure = "InternalFailure"
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    /// The AWS wording for a request field that breaks a length rule.
    static func length(field: String, value: String, max: Int? = nil, min: Int? = nil) -> EngineError {
        let rule = max.map { "Member must have length less than or equal to \($0)" }
            ?? "Member must have length greater than or equal to \(min ?? 1)"
        return EngineError(.validation, "1 validation error detected: Value '\(value)' at '\(field)' failed to satisfy constraint: \(rule)")
    }
}
