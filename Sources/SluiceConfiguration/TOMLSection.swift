import TOMLKit

/// Reads one TOML table with typed getters that name the key on error, and remembers
/// which keys were read so that a misspelt key is refused instead of silently ignored.
package final class TOMLSection {
    package let table: TOMLTable
    /// How the section is named in messages: `[api]`, `[[streams]] #2`, or the top level.
    package let path: String
    package let file: String
    private var seen: Set<String> = []

    package init(_ table: TOMLTable, path: String, file: String) {
        self.table = table
        self.path = path
        self.file = file
    }

    private func fail(_ key: String, _ problem: String, code: ConfigError.Code = .invalidValue) -> ConfigError {
        ConfigError("\(file): \(path.isEmpty ? "" : path + " ")\(key): \(problem)", code: code)
    }

    private func value(_ key: String) -> (any TOMLValueConvertible)? {
        seen.insert(key)
        return table[key]
    }

    package func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value.string else { throw fail(key, "expected a string in quotes") }
        return string
    }

    package func int(_ key: String, range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let int = value.int else { throw fail(key, "expected a whole number") }
        if let range, !range.contains(int) {
            throw fail(key, "\(int) is out of range; use \(range.lowerBound)...\(range.upperBound)")
        }
        return int
    }

    package func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard let bool = value.bool else { throw fail(key, "expected true or false") }
        return bool
    }

    /// An array of strings; `nonEmpty` refuses `[]`.
    package func strings(_ key: String, nonEmpty: Bool = false) throws -> [String]? {
        guard let value = value(key) else { return nil }
        guard let array = value.array else { throw fail(key, "expected an array of strings, e.g. [\"a\", \"b\"]") }
        let strings = try array.map { element -> String in
            guard let string = element.string else { throw fail(key, "expected an array of strings, e.g. [\"a\", \"b\"]") }
            return string
        }
        if nonEmpty && strings.isEmpty { throw fail(key, "must list at least one entry") }
        return strings
    }

    /// A table of string values: `{ site = "json.site" }`.
    package func stringTable(_ key: String) throws -> [String: String]? {
        guard let value = value(key) else { return nil }
        guard let table = value.table else { throw fail(key, "expected a table of strings, e.g. { name = \"value\" }") }
        var out: [String: String] = [:]
        for name in table.keys {
            guard let string = table[name]?.string else { throw fail(key, "\(name): expected a string in quotes") }
            out[name] = string
        }
        return out
    }

    /// A program and its arguments: `["/usr/bin/prog", "--flag"]`, or one path as a string.
    package func command(_ key: String) throws -> [String]? {
        if let single = table[key]?.string {
            seen.insert(key)
            return [single]
        }
        guard let words = try strings(key, nonEmpty: true) else { return nil }
        return words
    }

    package func choice(_ key: String, _ allowed: [String]) throws -> String? {
        guard let string = try string(key) else { return nil }
        guard allowed.contains(string) else {
            throw fail(key, "\"\(string)\" is not one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        return string
    }

    package func section(_ key: String) throws -> TOMLSection? {
        guard let value = value(key) else { return nil }
        guard let table = value.table else { throw fail(key, "expected a table: [\(key)]") }
        return TOMLSection(table, path: "[\(qualified(key))]", file: file)
    }

    /// `sources.file` for key `file` inside `[sources]`.
    private func qualified(_ key: String) -> String {
        path.hasPrefix("[") && !path.hasPrefix("[[") ? path.dropFirst().dropLast() + "." + key : key
    }

    package func sections(_ key: String) throws -> [TOMLSection] {
        guard let value = value(key) else { return [] }
        guard let array = value.array else { throw fail(key, "expected an array of tables: [[\(key)]]") }
        return try array.enumerated().map { k, element in
            guard let table = element.table else { throw fail(key, "entry \(k + 1) is not a table") }
            return TOMLSection(table, path: "[[\(qualified(key))]] #\(k + 1)", file: file)
        }
    }

    /// Refuses keys this section does not know (after all getters ran).
    package func rejectUnknownKeys(hint: String = "") throws {
        for key in table.keys where !seen.contains(key) {
            throw fail(key, "unknown key\(hint.isEmpty ? "" : "; " + hint)", code: .unknownKey)
        }
    }
}
