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
