/// A JSON value with object members kept in their original order, so a record that is
/// parsed, given a field and written back keeps the shape its producer gave it.
///
/// Hand-written rather than Foundation's JSONSerialization: it is Sendable, tells
/// booleans from numbers on Linux, keeps numbers' spelling, and costs one pass.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number as written (validated), so nothing is lost to Double.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public subscript(field: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == field }?.1
    }

    /// The text of a string value; nil for any other kind.
    public var string: String? {
        if case .string(let text) = self { text } else { nil }
    }

    /// An object's member names in their order; empty for any other kind.
    public var keys: [String] {
        if case .object(let members) = self { members.map(\.0) } else { [] }
    }

    /// The value at a dotted path of object fields.
    public func value(at path: [String]) -> JSONValue? {
        var current: JSONValue? = self
        for field in path { current = current?[field] }
        return current
    }

    /// Text for a partition key: strings as they are, numbers and booleans as written.
    public var keyText: String? {
        switch self {
        case .string(let s): s
        case .number(let n): n
        case .bool(let b): b ? "true" : "false"
        default: nil
        }
    }

    /// Adds `field` unless the object already has it (a record's own fields win).
    public mutating func add(_ field: String, _ value: JSONValue) {
        guard case .object(var members) = self, !members.contains(where: { $0.0 == field }) else { return }
        members.append((field, value))
        self = .object(members)
    }

    // MARK: - Writing

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }

    func write(to out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .number(let n): out += Array(n.utf8)
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (k, item) in items.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (k, (name, value)) in members.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(name, to: &out)
                out.append(UInt8(ascii: ":"))
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
