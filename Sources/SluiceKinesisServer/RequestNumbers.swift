import FoundationEssentials
import SluiceKinesis

/// Range checks for the numbers a client sends, made before any conversion that could
/// trap (Swift stops the process on an out-of-range `Int64(Double)` or a negative
/// `prefix(_:)`), so a hostile number is an error answer, never a crash.
enum RequestNumbers {
    /// The largest epoch second whose milliseconds still fit an `Int64` with room to add
    /// retention periods: year 292,277 is far past any record, and far below 2^63 ms.
    static let maxEpochSeconds: Double = 9_000_000_000_000

    /// A Kinesis timestamp (seconds since the epoch, fractions allowed) in milliseconds.
    /// - Throws: InvalidArgumentException naming `field` for NaN, infinities, negative
    ///   values and values past `maxEpochSeconds`.
    static func epochMillis(_ seconds: Double, field: String) throws -> Int64 {
        guard seconds.isFinite, seconds >= 0, seconds <= maxEpochSeconds else {
            throw KinesisError(type: "InvalidArgumentException", message: "\(field) \(seconds) is out of range: give seconds since the Unix epoch (1970-01-01T00:00:00Z), between 0 and \(Int(maxEpochSeconds)).")
        }
        return Int64((seconds * 1000).rounded(.down))
    }

    /// An optional count or page size: `fallback` when absent.
    /// - Throws: ValidationException in AWS's wording when outside `range`.
    static func count(_ value: Int?, fallback: Int, field: String, in range: ClosedRange<Int>) throws -> Int {
        guard let value else { return fallback }
        guard range.contains(value) else {
            throw KinesisError.validation(value: "\(value)", field: field, constraint: "Member must have value between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }
}

extension KinesisError {
    /// AWS's form of a validation failure: `1 validation error detected: Value 'V' at
    /// 'field' failed to satisfy constraint: Member must ...`.
    static func validation(value: String, field: String, constraint: String) -> KinesisError {
        KinesisError(type: "ValidationException", message: "1 validation error detected: Value '\(value)' at '\(field)' failed to satisfy constraint: \(constraint)")
    }
}
