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
    public static func decoding(_ error: any Error) -> KinesisError {
        guard let error = error as? DecodingError else { return .serialization("\(error)") }
        switch error {
        case .keyNotFound(let key, _):
            let name = key.stringValue.prefix(1).lowercased() + key.stringValue.dropFirst()
            return KinesisError(type: "ValidationException", message: "1 validation error detected: Value null at '\(name)' failed to satisfy constraint: Member must not be null")
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return .serialization("Unexpected value type at '\(path)': \(context.debugDescription)")
        case .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return .serialization(path.isEmpty ? "The request body is not valid JSON." : "Invalid value at '\(path)': \(context.debugDescription)")
        @unknown default:
            return .serialization("\(error)")
        }
    }

    /// The JSON body of the error response.
    public var body: [UInt8] {
        let object = ["__type": type, "message": message]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Foundation.Data())
    }
}
