import SluiceStorage

/// A config problem, worded for the operator: which file, which key, what to write instead.
package struct ConfigError: CodedError, Sendable {
    package enum Code: Sendable, Equatable {
        /// The file is not TOML.
        case notTOML
        /// A file the config names (itself, keys, credentials, maps) cannot be read.
        case unreadableFile
        /// A key the entry needs is not there.
        case missingKey
        /// A key the section does not know (a typo, or a key of another kind of entry).
        case unknownKey
        /// A value of the wrong type, out of range, or not one of the choices.
        case invalidValue
        /// Entries or keys that cannot go together (two with one name, both of a pair).
        case conflict
    }

    package let code: Code
    package let message: String
    package let cause: (any Error)?

    package init(_ message: String, code: Code = .invalidValue, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }
}
