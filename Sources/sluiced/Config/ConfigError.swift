/// A config problem, worded for the operator: which file, which key, what to write instead.
struct ConfigError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
