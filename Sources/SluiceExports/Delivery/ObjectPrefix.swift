import SluiceStorage

/// An object prefix with Firehose's expressions (OBJECTS.md, "Names"): literal text,
/// `!{timestamp:FORMAT}`, `!{firehose:random-string}`, `!{firehose:error-output-type}`,
/// and the partition expressions `!{partitionKeyFromQuery:NAME}` and `!{partitionKey}`.
/// Parsed once from the config, rendered per object.
public struct ObjectPrefix: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case text(String)
        case timestamp([Field])
        case random
        case errorOutputType
        /// A value of the object's partition, by the name `Partition` gives it.
        case partition(String)
    }

    enum Field: Sendable, Equatable {
        case year, month, day, hour, minute, second
        case literal(Character)
    }

    public struct Problem: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    let parts: [Part]

    /// Firehose's default: the first record's arrival hour, `yyyy/MM/dd/HH/`.
    static let hourly: [Part] = [.timestamp([.year, .literal("/"), .month, .literal("/"), .day, .literal("/"), .hour]), .text("/")]

    /// - Throws: `Problem` naming what is wrong and what to write instead.
    public init(_ template: String) throws {
        if template.hasPrefix("/") { throw Problem(description: "\"\(template)\" must be relative (it goes under the directory)") }
        var parts: [Part] = []
        var rest = Substring(template)
        while !rest.isEmpty {
            guard let open = rest.firstRange(of: "!{") else {
                parts.append(.text(String(rest)))
                break
            }
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                throw Problem(description: "\"\(template)\": an expression opened with !{ is not closed with }")
            }
            let expression = String(rest[open.upperBound..<close])
            if expression == "firehose:random-string" {
                parts.append(.random)
            } else if expression == "firehose:error-output-type" || expression == "error-output-type" {
                parts.append(.errorOutputType)
            } else if expression == "partitionKey" {
                parts.append(.partition(Partition.recordKey))
            } else if expression.hasPrefix("partitionKeyFromQuery:"), expression.count > "partitionKeyFromQuery:".count {
                parts.append(.partition(String(expression.dropFirst("partitionKeyFromQuery:".count))))
            } else if expression.hasPrefix("timestamp:") {
                parts.append(.timestamp(try Self.fields(String(expression.dropFirst("timestamp:".count)), template: template)))
            } else {
                throw Problem(description: "\"\(template)\": !{\(expression)} is not supported; use !{timestamp:yyyy/MM/dd/HH}, !{firehose:random-string}, !{firehose:error-output-type}, !{partitionKeyFromQuery:NAME} or !{partitionKey}")
            }
            rest = rest[rest.index(after: close)...]
        }
        for case .text(let text) in parts {
            if text.contains("\0") || text.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == ".." || $0 == "." }) {
                throw Problem(description: "\"\(template)\": no . or .. component and no NUL (the prefix stays under the directory)")
            }
        }
        if !parts.contains(where: { if case .timestamp = $0 { true } else { false } }) { parts += Self.hourly }
        self.parts = parts
    }

    /// The partition names the prefix uses (`Partition.recordKey` for `!{partitionKey}`).
    public var partitionNames: Set<String> {
        Set(parts.compactMap { if case .partition(let name) = $0 { name } else { nil } })
    }

    /// Whether the prefix has `!{firehose:error-output-type}`.
    public var hasErrorOutputType: Bool { parts.contains(.errorOutputType) }

    /// `yyyy`, `MM`, `dd`, `HH`, `mm`, `ss` and the separators `/ - _ . =`.
    private static func fields(_ format: String, template: String) throws -> [Field] {
        var fields: [Field] = []
        var rest = Substring(format)
        let patterns: [(String, Field)] = [("yyyy", .year), ("MM", .month), ("dd", .day), ("HH", .hour), ("mm", .minute), ("ss", .second)]
        while let first = rest.first {
            if let (pattern, field) = patterns.first(where: { rest.hasPrefix($0.0) }) {
                fields.append(field)
                rest = rest.dropFirst(pattern.count)
            } else if "/-_.=".contains(first) {
                fields.append(.literal(first))
                rest = rest.dropFirst()
            } else {
                throw Problem(description: "\"\(template)\": timestamp format \"\(format)\" has \"\(first)\"; use yyyy, MM, dd, HH, mm, ss and / - _ . =")
            }
        }
        guard !fields.isEmpty else { throw Problem(description: "\"\(template)\": !{timestamp:} needs a format such as yyyy/MM/dd") }
        return fields
    }

    /// The prefix for an object whose first record arrived at `millis` (UTC). Partition
    /// values are made one path component each (`PathComponent`: a value never adds a
    /// level or leaves the prefix).
    public func render(
        arrivalMillis millis: Int64, partition: Partition = Partition(), errorOutputType: String? = nil, using random: inout some RandomNumberGenerator
    ) -> String {
        let time = UTCTime(millis: millis)
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .errorOutputType: out += errorOutputType ?? "unknown"
            case .partition(let name): out += PathComponent.encode(partition.values[name] ?? "")
            case .random: out += String((0..<11).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement(using: &random)! })
            case .timestamp(let fields):
                for field in fields {
                    switch field {
                    case .year: out += time.padded(time.year, 4)
                    case .month: out += time.padded(time.month, 2)
                    case .day: out += time.padded(time.day, 2)
                    case .hour: out += time.padded(time.hour, 2)
                    case .minute: out += time.padded(time.minute, 2)
                    case .second: out += time.padded(time.second, 2)
                    case .literal(let character): out.append(character)
                    }
                }
            }
        }
        return out
    }
}

/// A UTC calendar time from milliseconds since the epoch (civil-from-days, proleptic
/// Gregorian), without Foundation's calendar.
struct UTCTime: Equatable {
    var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    init(millis: Int64) {
        let seconds = Int(millis >= 0 ? millis / 1000 : (millis - 999) / 1000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let inDay = seconds - days * 86_400
        hour = inDay / 3600
        minute = inDay % 3600 / 60
        second = inDay % 60
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
