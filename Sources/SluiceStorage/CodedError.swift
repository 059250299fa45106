/// The shape of Sluice's error types: a code callers branch on, a message people read
/// (what failed, where, and what to do), and the error underneath when there is one.
public protocol CodedError: Error, CustomStringConvertible {
    associatedtype Code: Sendable, Equatable
    var code: Code { get }
    var message: String { get }
    var cause: (any Error)? { get }
}

extension CodedError {
    public var description: String { message }
}

/// A `CodedError` over the codes `Code`: a module names its codes (an enum) and uses
/// `CodedFailure<ItsCodes>` under its own name, e.g.
/// `public typealias TopicFilterError = CodedFailure<TopicFilterProblem>`.
public struct CodedFailure<Code: Sendable & Equatable>: CodedError, Sendable {
    public let code: Code
    public let message: String
    public let cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }
}
