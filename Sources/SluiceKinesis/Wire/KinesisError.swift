import FoundationEssentials
import SluiceEngine
import SluiceStorage

/// An error as it travels on the wire: `{"__type": ..., "message": ...}` with an HTTP
/// status. The one place where engine errors and protocol failures get their AWS shape.
public struct KinesisError: Error, CustomStringConvertible, Sendable, Equatable {
    public var type: String
    public var message: String
    public var status: Int

    public init(type: String, message: String, status: Int = 400) {
        self.type = type
        self.message = message
        self.status = status
    }

    public var description: String { "\(type): \(message)" }

    public init(_ error: EngineError) {
        self.init(type: error.kind.rawValue, message: error.message, status: error.kind == .internalFailure ? 500 : 400)
    }

    /// A body that is not JSON, or JSON of the wrong shape.
    public static func serialization(_ detail: String) -> KinesisError {
        KinesisError(type: "SerializationException", message: detail)
    }

    public static func unknownOperation(_ target: String) -> KinesisError {
        KinesisError(type: "UnknownOperationException", message: "Operation \(target) is not supported by Kinesis_20131202. Send X-Amz-Target: Kinesis_20131202.<Action>.")
    }

    /// Maps a JSON decoding failure the way AWS services answer it: a missing required
    /// member is a ValidationException, anything else a SerializationException.
    public static func decoding(_ error: any Error, body: Data? = nil) -> KinesisError {
        guard let error = error as? DecodingError else { return .serialization("\(error)") }
        // Foundation reports a well-formed number its member cannot take (1.5 or 1e20
        // for an integer) as "not valid JSON" with no path: name the numbers instead.
        if case .dataCorrupted(let context) = error, context.codingPath.isEmpty, let body,
           let object = try? JSONParser.parse(body) {
            let odd = nonIntegers(in: object, at: "")
            if !odd.isEmpty {
                return .serialization("Number \(odd.joined(separator: ", ")) does not fit its member: give a whole number in the member's range.")
            }
        }
        switch error {
        case .keyNotFound(let key, _):
            let name = key.stringValue.prefix(1).lowercased() + key.stringValue.dropFirst()
            return KinesisError(type: "ValidationException", message: "1 validation error detected: Value null at '\(name)' failed to satisfy constraint: Member must not be null")
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return .serialization("Unexpected value type at '\(path)': \(context.debugDescription)")
        case .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            // Foundation reports a well-formed number that does not fit its field (1.5 or
            // 1e20 for an integer) here too, with an empty path: say what it said.
            let detail = context.debugDescription + (context.underlyingError.map { " (\($0))" } ?? "")
            return .serialization(path.isEmpty ? "The request body is not valid JSON or holds a value its field cannot take: \(detail)" : "Invalid value at '\(path)': \(detail)")
        @unknown default:
            return .serialization("\(error)")
        }
    }

    /// `member=value` for every number in `object` that is not a whole 64-bit integer.
    private static func nonIntegers(in value: JSONValue, at path: String) -> [String] {
        switch value {
        case .object(let members):
            return members.sorted { $0.0 < $1.0 }.flatMap { nonIntegers(in: $0.1, at: path.isEmpty ? $0.0 : path + "." + $0.0) }
        case .array(let items):
            return items.enumerated().flatMap { nonIntegers(in: $1, at: "\(path)[\($0)]") }
        case .number(let text):
            let number = Double(text) ?? .nan
            let whole = number.isFinite && number.rounded() == number && abs(number) < 9.2e18
            return whole ? [] : ["\(path)=\(text)"]
        default:
            return []
        }
    }

    /// The JSON body of the error response.
    public var body: [UInt8] {
        JSONValue.object([("__type", .string(type)), ("message", .string(message))]).bytes
    }
}
