/// A config problem, worded for the operator: which file, which key, what to write instead.
package struct ConfigError: Error, CustomStringConvertible {
    package let message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
