/// The one error type of the storage module: what failed, on which file, and what to do.
public struct StorageError: CodedError, Sendable, Equatable {
    /// What kind of failure this is; callers branch on it, people read `message`.
    public enum Code: Sendable, Equatable {
        /// A system call failed; `errno` says why.
        case io(errno: Int32)
        /// The disk (or the quota) is full: nothing was acknowledged, nothing stored was lost.
        case diskFull
        /// A file does not have the structure FORMAT.md describes.
        case corrupt
        /// A record or batch breaks a size rule.
        case invalidArgument
        /// The log failed earlier and refuses writes until restart.
        case unavailable
        /// The log was closed (shutdown, or its shard was closed by resharding).
        case closed
        /// A master key (id and version) that stored data needs is not in the key file.
        case keyUnavailable
        /// The key file's key does not open stored data: another key file.
        case wrongKey
        /// The key file itself is missing, malformed or too widely readable.
        case keyFile
    }

    public let code: Code
    public let message: String
    /// The error underneath, when this one wraps another (kept for logs and callers that
    /// look deeper; `message` already says what it means here).
    public let cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// The same failure: code and message (the cause is detail).
    public static func == (lhs: StorageError, rhs: StorageError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }

    /// `error` as a storage error: itself when it is one, else an I/O failure keeping it.
    public static func wrapping(_ error: any Error) -> StorageError {
        (error as? StorageError) ?? StorageError(.io(errno: 0), "\(error)", cause: error)
    }

    /// An error for a failed system call, naming the operation and the path.
    static func posix(_ operation: String, path: String, errno code: Int32) -> StorageError {
        if code == ENOSPC || code == EDQUOT {
            return StorageError(
                .diskFull,
                "\(operation) \(path): no space left on device; free disk space (or lower retention) and retry"
            )
        }
        return StorageError(.io(errno: code), "\(operation) \(path): \(String(cString: strerror(code)))")
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
