import SluiceGateway
import SluiceStorage

/// A handler's answer read against the batch it was given (FUNCTIONS.md, "The answer").
public struct FunctionAnswer: Sendable, Equatable {
    /// Index in the batch of the first record to retry (nil: the whole batch is done).
    public var firstFailure: Int?
    /// The tumbling window's new state, as JSON (only with a window).
    public var state: [UInt8]?

    /// Why an answer is a function error.
    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    /// Lambda's limit on a tumbling window's state.
    public static let maxStateBytes = 1 << 20

    /// - Parameters:
    ///   - sequenceNumbers: the batch's records' sequence numbers, in order.
    ///   - reportsItemFailures: `ReportBatchItemFailures` is on.
    ///   - windowed: a tumbling window is on (the answer must carry `state`).
    public static func read(_ output: [UInt8], sequenceNumbers: [String], reportsItemFailures: Bool, windowed: Bool) throws(Malformed) -> FunctionAnswer {
        let blank = output.allSatisfy { [0x20, 0x09, 0x0A, 0x0D].contains($0) }
        if blank && !windowed { return FunctionAnswer() }
        guard !blank else { throw Malformed(description: "the answer is empty; with a tumbling window it must be {\"state\": {...}}") }
        let value: JSONValue
        do { value = try JSONParser.parse(output) } catch {
            throw Malformed(description: "the answer is not JSON (\(error)): \(String(decoding: output.prefix(120), as: UTF8.self))")
        }
        var answer = FunctionAnswer()
        if windowed {
            guard let state = value["state"], case .object = state else {
                throw Malformed(description: "with a tumbling window the answer must carry \"state\" as an object, e.g. {\"state\": {}}")
            }
            answer.state = state.bytes
        }
        guard reportsItemFailures, let failures = value["batchItemFailures"] else { return answer }
        let items: [JSONValue]
        switch failures {
        case .null: return answer
        case .array(let list): items = list
        default: throw Malformed(description: "batchItemFailures must be a list of {\"itemIdentifier\": \"<sequence number>\"}")
        }
        guard !items.isEmpty else { return answer }
        let index = Dictionary(sequenceNumbers.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var lowest = Int.max
        for item in items {
            guard case .string(let id)? = item["itemIdentifier"], !id.isEmpty else {
                throw Malformed(description: "a batchItemFailures entry has no itemIdentifier (or an empty one): the whole batch is retried")
            }
            guard let position = index[id] else {
                throw Malformed(description: "batchItemFailures names \(id.prefix(64)), which is not in the batch: the whole batch is retried")
            }
            lowest = min(lowest, position)
        }
        answer.firstFailure = lowest
        return answer
    }
}
