import SluiceGateway
import SluiceStorage

/// One pattern of Lambda's event filtering (`FilterCriteria.Filters[].Pattern`), matched
/// against a Kinesis record as Lambda sees it: `partitionKey`, `sequenceNumber`,
/// `approximateArrivalTimestamp`, `kinesisSchemaVersion`, and `data` parsed as JSON.
///
/// Syntax (Lambda's, from EventBridge): an object whose fields all must match (AND); a
/// field holds a nested pattern object or an array of matchers, any of which may match
/// (OR). Matchers: a literal (string, number compared as a number, true/false, null),
/// `{"prefix": s}`, `{"suffix": s}`, `{"equals-ignore-case": s}`, `{"exists": bool}`,
/// `{"numeric": [op, n (, op, n)]}` with op one of = < <= > >=, and
/// `{"anything-but": literal | [literals] | {"prefix": s}}`. When the record holds an
/// array, a matcher matches when any element does. A pattern that names `data` does not
/// match a record whose data is not a JSON object.
public struct FilterPattern: Sendable, Equatable {
    indirect enum Node: Sendable, Equatable {
        case fields([(String, Node)])
        case anyOf([Matcher])

        static func == (lhs: Node, rhs: Node) -> Bool {
            switch (lhs, rhs) {
            case (.anyOf(let a), .anyOf(let b)): a == b
            case (.fields(let a), .fields(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
            default: false
            }
        }
    }

    enum Matcher: Sendable, Equatable {
        case equals(JSONValue)
        case prefix(String)
        case suffix(String)
        case equalsIgnoreCase(String)
        case exists(Bool)
        case numeric([(op: String, value: Double)])
        case anythingBut([JSONValue])
        case anythingButPrefix(String)

        static func == (lhs: Matcher, rhs: Matcher) -> Bool {
            switch (lhs, rhs) {
            case (.equals(let a), .equals(let b)): a == b
            case (.prefix(let a), .prefix(let b)), (.suffix(let a), .suffix(let b)), (.equalsIgnoreCase(let a), .equalsIgnoreCase(let b)),
                 (.anythingButPrefix(let a), .anythingButPrefix(let b)): a == b
            case (.exists(let a), .exists(let b)): a == b
            case (.numeric(let a), .numeric(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.op == $1.op && $0.value == $1.value }
            case (.anythingBut(let a), .anythingBut(let b)): a == b
            default: false
            }
        }
    }

    /// Lambda's limit on one pattern's length.
    public static let maxLength = 4096
    /// Lambda's limit on patterns per event source mapping.
    public static let maxPatterns = 5

    let root: Node
    public let text: String
    /// The pattern names `data`: records are parsed only then.
    let needsData: Bool

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses a pattern; the error says what is wrong and where.
    public init(_ text: String) throws(Invalid) {
        guard text.utf8.count <= Self.maxLength else {
            throw Invalid(description: "a filter pattern is at most \(Self.maxLength) characters (Lambda's limit); this one has \(text.utf8.count)")
        }
        let value: JSONValue
        do { value = try JSONParser.parse(Array(text.utf8)) } catch {
            throw Invalid(description: "the filter pattern is not JSON: \(error)")
        }
        guard case .object(let members) = value, !members.isEmpty else {
            throw Invalid(description: "a filter pattern is a JSON object of fields, e.g. {\"data\": {\"temperature\": [{\"numeric\": [\">\", 30]}]}}")
        }
        root = try Self.node(value, path: "")
        self.text = text
        needsData = members.contains { $0.0 == "data" }
    }

    private static func node(_ value: JSONValue, path: String) throws(Invalid) -> Node {
        switch value {
        case .object(let members):
            guard !members.isEmpty else { throw Invalid(description: "\(path.isEmpty ? "the pattern" : path): an empty object matches nothing; remove it") }
            var fields: [(String, Node)] = []
            for (name, member) in members {
                fields.append((name, try node(member, path: path.isEmpty ? name : path + "." + name)))
            }
            return .fields(fields)
        case .array(let items):
            guard !items.isEmpty else { throw Invalid(description: "\(path): an empty array matches nothing; list at least one value or matcher") }
            var matchers: [Matcher] = []
            for item in items { matchers.append(try matcher(item, path: path)) }
            return .anyOf(matchers)
        default:
            throw Invalid(description: "\(path): a field's value is an array of values or matchers, e.g. [\"a\"] or [{\"prefix\": \"a\"}]")
        }
    }

    private static func matcher(_ item: JSONValue, path: String) throws(Invalid) -> Matcher {
        guard case .object(let members) = item else {
            if case .array = item { throw Invalid(description: "\(path): arrays do not nest; list values and matchers in one array") }
            return .equals(item)
        }
        guard members.count == 1, let (name, operand) = members.first else {
            throw Invalid(description: "\(path): a matcher is an object with one key, e.g. {\"prefix\": \"a\"}")
        }
        switch (name, operand) {
        case ("prefix", .string(let text)): return .prefix(text)
        case ("suffix", .string(let text)): return .suffix(text)
        case ("equals-ignore-case", .string(let text)): return .equalsIgnoreCase(text)
        case ("exists", .bool(let flag)): return .exists(flag)
        case ("numeric", .array(let terms)): return .numeric(try numeric(terms, path: path))
        case ("anything-but", .array(let values)):
            guard !values.isEmpty, values.allSatisfy(Self.isLiteral) else {
                throw Invalid(description: "\(path): anything-but takes a value, a list of values or {\"prefix\": s}")
            }
            return .anythingBut(values)
        case ("anything-but", .object(let inner)):
            guard inner.count == 1, inner[0].0 == "prefix", case .string(let text) = inner[0].1 else {
                throw Invalid(description: "\(path): anything-but takes a value, a list of values or {\"prefix\": s}")
            }
            return .anythingButPrefix(text)
        case ("anything-but", let value) where isLiteral(value): return .anythingBut([value])
        case ("prefix", _), ("suffix", _), ("equals-ignore-case", _):
            throw Invalid(description: "\(path): \(name) takes a string")
        case ("exists", _): throw Invalid(description: "\(path): exists takes true or false")
        case ("numeric", _), ("anything-but", _):
            throw Invalid(description: "\(path): \(name) takes an array, e.g. {\"numeric\": [\">\", 0, \"<=\", 5]}")
        default:
            throw Invalid(description: "\(path): unknown matcher \"\(name)\"; use prefix, suffix, equals-ignore-case, exists, numeric or anything-but")
        }
    }

    private static func isLiteral(_ value: JSONValue) -> Bool {
        switch value {
        case .string, .number, .bool, .null: true
        case .array, .object: false
        }
    }

    private static func numeric(_ terms: [JSONValue], path: String) throws(Invalid) -> [(op: String, value: Double)] {
        guard terms.count == 2 || terms.count == 4 else {
            throw Invalid(description: "\(path): numeric takes one or two comparisons, e.g. [\">\", 0] or [\">\", 0, \"<=\", 5]")
        }
        var out: [(op: String, value: Double)] = []
        for k in stride(from: 0, to: terms.count, by: 2) {
            guard case .string(let op) = terms[k], ["=", "<", "<=", ">", ">="].contains(op) else {
                throw Invalid(description: "\(path): numeric comparisons are =, <, <=, > and >=")
            }
            guard case .number(let text) = terms[k + 1], let value = Double(text), value.isFinite else {
                throw Invalid(description: "\(path): numeric compares with a number")
            }
            out.append((op, value))
        }
        return out
    }

    // MARK: - Matching

    /// The record as Lambda's filter sees it; `data` only when the pattern asks for it.
    public func matches(_ record: FilterableRecord) -> Bool {
        let value = record.value(parsingData: needsData)
        if needsData && value["data"] == nil { return false }
        return Self.match(root, value)
    }

    private static func match(_ node: Node, _ value: JSONValue?) -> Bool {
        switch node {
        case .fields(let fields):
            return fields.allSatisfy { name, child in
                guard case .object = value else { return matchesAbsent(child) }
                return match(child, value?[name])
            }
        case .anyOf(let matchers):
            return matchers.contains { matcher in
                if case .exists(let wanted) = matcher { return (value != nil) == wanted }
                guard let value else { return false }
                if case .array(let items) = value { return items.contains { test(matcher, $0) } }
                return test(matcher, value)
            }
        }
    }

    /// A field missing from the record matches only `{"exists": false}` (and nested
    /// patterns made of it).
    private static func matchesAbsent(_ node: Node) -> Bool {
        switch node {
        case .fields(let fields): fields.allSatisfy { matchesAbsent($0.1) }
        case .anyOf(let matchers): matchers.contains { $0 == .exists(false) }
        }
    }

    private static func test(_ matcher: Matcher, _ value: JSONValue) -> Bool {
        switch matcher {
        case .equals(let literal): return same(literal, value)
        case .prefix(let text): if case .string(let s) = value { return s.hasPrefix(text) } else { return false }
        case .suffix(let text): if case .string(let s) = value { return s.hasSuffix(text) } else { return false }
        case .equalsIgnoreCase(let text): if case .string(let s) = value { return s.lowercased() == text.lowercased() } else { return false }
        case .exists(let wanted): return wanted
        case .numeric(let terms):
            guard case .number(let text) = value, let number = Double(text) else { return false }
            return terms.allSatisfy { term in
                switch term.op {
                case "=": number == term.value
                case "<": number < term.value
                case "<=": number <= term.value
                case ">": number > term.value
                default: number >= term.value
                }
            }
        case .anythingBut(let literals): return !literals.contains { same($0, value) }
        case .anythingButPrefix(let text): if case .string(let s) = value { return !s.hasPrefix(text) } else { return true }
        }
    }

    /// Equality with numbers compared by value (5 equals 5.0).
    private static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if case .number(let x) = a, case .number(let y) = b, let p = Double(x), let q = Double(y) { return p == q }
        return a == b
    }
}

/// What a filter reads of a record.
public struct FilterableRecord {
    public var partitionKey: String
    public var sequenceNumber: String
    public var arrivalMillis: Int64
    public var data: [UInt8]

    public init(partitionKey: String, sequenceNumber: String, arrivalMillis: Int64, data: [UInt8]) {
        self.partitionKey = partitionKey
        self.sequenceNumber = sequenceNumber
        self.arrivalMillis = arrivalMillis
        self.data = data
    }

    func value(parsingData: Bool) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("kinesisSchemaVersion", .string("1.0")), ("partitionKey", .string(partitionKey)),
            ("sequenceNumber", .string(sequenceNumber)), ("approximateArrivalTimestamp", .number(KinesisEvent.seconds(arrivalMillis))),
        ]
        if parsingData, let parsed = try? JSONParser.parse(data), case .object = parsed {
            members.append(("data", parsed))
        }
        return .object(members)
    }
}
