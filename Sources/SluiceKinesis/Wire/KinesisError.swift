import Foundation
import SluiceEngine

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
    public static func decoding(_ error: any Error, body: Foundation.Data? = nil) -> KinesisError {
        guard let error = error as? DecodingError else { return .serialization("\(error)") }
        // Foundation reports a well-formed number its member cannot take (1.5 or 1e20
        // for an integer) as "not valid JSON" with no path: name the numbers instead.
        if case .dataCorrupted(let context) = error, context.codingPath.isEmpty, let body,
           let object = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) {
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
    private static func nonIntegers(in object: Any, at path: String) -> [String] {
        switch object {
        case let dictionary as [String: Any]:
            return dictionary.keys.sorted().flatMap { nonIntegers(in: dictionary[$0]!, at: path.isEmpty ? $0 : path + "." + $0) }
        case let array as [Any]:
            return array.enumerated().flatMap { nonIntegers(in: $1, at: "\(path)[\($0)]") }
        case let number as NSNumber where !(number is Bool):
            let value = number.doubleValue
            let whole = value.isFinite && value.rounded() == value && abs(value) < 9.2e18
            return whole ? [] : ["\(path)=\(number)"]
        default:
            return []
        }
    }

    /// The JSON body of the error response.
    public var body: [UInt8] {
        let object = ["__type": type, "message": message]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Foundation.Data())
    }
}
