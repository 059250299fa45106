/// One CBOR data item (RFC 8949), as the Kinesis wire needs it: what `CBOR.md` beside
/// this file describes.
///
/// Hand-written: no CBOR library is among the packages this project may use, and the
/// subset a Kinesis body needs is small. Decoding is bounded (depth, declared lengths
/// against the bytes left) because every byte is the client's.
public indirect enum CBORValue: Sendable, Equatable {
    case unsigned(UInt64)
    /// The integer -1 - n.
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBORValue])
    case map([(CBORValue, CBORValue)])
    case tagged(UInt64, CBORValue)
    case bool(Bool)
    case null
    case undefined
    case simple(UInt8)
    case float(Double)

    public static func == (lhs: CBORValue, rhs: CBORValue) -> Bool {
        switch (lhs, rhs) {
        case (.unsigned(let a), .unsigned(let b)), (.negative(let a), .negative(let b)): a == b
        case (.bytes(let a), .bytes(let b)): a == b
        case (.text(let a), .text(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.map(let a), .map(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.tagged(let t, let a), .tagged(let u, let b)): t == u && a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null), (.undefined, .undefined): true
        case (.simple(let a), .simple(let b)): a == b
        case (.float(let a), .float(let b)): a == b || (a.isNaN && b.isNaN)
        default: false
        }
    }

    /// A map's value by text key; nil for any other kind.
    public subscript(key: String) -> CBORValue? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.first { $0.0 == .text(key) }?.1
    }

    // MARK: - Encoding

    /// The item's encoding: definite lengths, shortest heads, floats as float64.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        encode(to: &out)
        return out
    }

    public func encode(to out: inout [UInt8]) {
        switch self {
        case .unsigned(let n): Self.head(0, n, to: &out)
        case .negative(let n): Self.head(1, n, to: &out)
        case .bytes(let b):
            Self.head(2, UInt64(b.count), to: &out)
            out += b
        case .text(let s):
            Self.head(3, UInt64(s.utf8.count), to: &out)
            out += s.utf8
        case .array(let items):
            Self.head(4, UInt64(items.count), to: &out)
            for item in items { item.encode(to: &out) }
        case .map(let pairs):
            Self.head(5, UInt64(pairs.count), to: &out)
            for (key, value) in pairs {
                key.encode(to: &out)
                value.encode(to: &out)
            }
        case .tagged(let tag, let item):
            Self.head(6, tag, to: &out)
            item.encode(to: &out)
        case .bool(let b): out.append(b ? 0xF5 : 0xF4)
        case .null: out.append(0xF6)
        case .undefined: out.append(0xF7)
        case .simple(let v):
            if v < 24 { out.append(0xE0 | v) } else { out += [0xF8, v] }
        case .float(let d):
            out.append(0xFB)
            withUnsafeBytes(of: d.bitPattern.bigEndian) { out += $0 }
        }
    }

    static func head(_ major: UInt8, _ n: UInt64, to out: inout [UInt8]) {
        let m = major << 5
        switch n {
        case ..<24: out.append(m | UInt8(n))
        case ..<0x100: out += [m | 24, UInt8(n)]
        case ..<0x1_0000: out.append(m | 25); withUnsafeBytes(of: UInt16(n).bigEndian) { out += $0 }
        case ..<0x1_0000_0000: out.append(m | 26); withUnsafeBytes(of: UInt32(n).bigEndian) { out += $0 }
        default: out.append(m | 27); withUnsafeBytes(of: n.bigEndian) { out += $0 }
        }
    }

    // MARK: - Decoding

    /// Decodes exactly one item from `bytes`.
    /// - Throws: `CBORDecodingError` naming what is wrong and at which byte.
    public static func decode(_ bytes: some Collection<UInt8>) throws(CBORDecodingError) -> CBORValue {
        var reader = CBORReader(bytes: Array(bytes))
        let value = try reader.item(depth: 0)
        guard reader.position == reader.bytes.count else {
            throw CBORDecodingError(message: "\(reader.bytes.count - reader.position) bytes follow the CBOR item; send exactly one item", offset: reader.position)
        }
        return value
    }
}

public struct CBORDecodingError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}

/// The decoding cursor: every read is checked against what is left.
struct CBORReader {
    let bytes: [UInt8]
    var position = 0
    static let maxDepth = 128

    private func failure(_ message: String) -> CBORDecodingError { CBORDecodingError(message: message, offset: position) }

    private mutating func byte() throws(CBORDecodingError) -> UInt8 {
        guard position < bytes.count else { throw failure("the CBOR item ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ count: UInt64) throws(CBORDecodingError) -> ArraySlice<UInt8> {
        guard count <= UInt64(bytes.count - position) else {
            throw failure("a length of \(count) is more than the \(bytes.count - position) bytes left")
        }
        let end = position + Int(count)
        defer { position = end }
        return bytes[position..<end]
    }

    private mutating func uint(_ width: Int) throws(CBORDecodingError) -> UInt64 {
        var n: UInt64 = 0
        for _ in 0..<width { n = n << 8 | UInt64(try byte()) }
        return n
    }

    /// The argument of a head whose additional information is `info`; nil for indefinite.
    private mutating func argument(_ info: UInt8) throws(CBORDecodingError) -> UInt64? {
        switch info {
        case 0..<24: return UInt64(info)
        case 24: return try uint(1)
        case 25: return try uint(2)
        case 26: return try uint(4)
        case 27: return try uint(8)
        case 31: return nil
        default: throw failure("reserved additional information \(info)")
        }
    }

    /// A count of items that must fit in memory: no more than the bytes left (each item
    /// takes at least one byte), so a hostile length cannot make us reserve gigabytes.
    private func count(_ n: UInt64, per: UInt64) throws(CBORDecodingError) -> Int {
        guard n <= UInt64(bytes.count - position) / per else {
            throw failure("a count of \(n) items is more than the bytes left can hold")
        }
        return Int(n)
    }

    private mutating func isBreak() -> Bool {
        guard position < bytes.count, bytes[position] == 0xFF else { return false }
        position += 1
        return true
    }

    mutating func item(depth: Int) throws(CBORDecodingError) -> CBORValue {
        guard depth < Self.maxDepth else { throw failure("CBOR nested deeper than \(Self.maxDepth) levels") }
        let start = position
        let initial = try byte()
        let major = initial >> 5
        let info = initial & 0x1F
        if major == 7 { return try simpleOrFloat(info, at: start) }
        let argument = try argument(info)
        switch major {
        case 0:
            guard let n = argument else { throw failure("an integer cannot have indefinite length") }
            return .unsigned(n)
        case 1:
            guard let n = argument else { throw failure("an integer cannot have indefinite length") }
            return .negative(n)
        case 2, 3:
            var content: [UInt8] = []
            if let n = argument {
                content = Array(try take(n))
            } else {
                while !isBreak() {
                    let chunkStart = position
                    let chunk = try item(depth: depth + 1)
                    switch (major, chunk) {
                    case (2, .bytes(let b)): content += b
                    case (3, .text(let t)): content += t.utf8
                    default:
                        position = chunkStart
                        throw failure("an indefinite-length string holds a chunk of another type")
                    }
                }
            }
            if major == 2 { return .bytes(content) }
            guard let text = String(validating: content, as: UTF8.self) else {
                position = start
                throw failure("a text string is not valid UTF-8")
            }
            return .text(text)
        case 4:
            var items: [CBORValue] = []
            if let n = argument {
                items.reserveCapacity(try count(n, per: 1))
                for _ in 0..<n { items.append(try item(depth: depth + 1)) }
            } else {
                while !isBreak() { items.append(try item(depth: depth + 1)) }
            }
            return .array(items)
        case 5:
            var pairs: [(CBORValue, CBORValue)] = []
            if let n = argument {
                pairs.reserveCapacity(try count(n, per: 2))
                for _ in 0..<n { pairs.append((try item(depth: depth + 1), try item(depth: depth + 1))) }
            } else {
                while !isBreak() { pairs.append((try item(depth: depth + 1), try item(depth: depth + 1))) }
            }
            return .map(pairs)
        default: // 6
            guard let tag = argument else { throw failure("a tag cannot have indefinite length") }
            return .tagged(tag, try item(depth: depth + 1))
        }
    }

    private mutating func simpleOrFloat(_ info: UInt8, at start: Int) throws(CBORDecodingError) -> CBORValue {
        switch info {
        case 20: return .bool(false)
        case 21: return .bool(true)
        case 22: return .null
        case 23: return .undefined
        case 0..<20: return .simple(info)
        case 24:
            let v = try byte()
            guard v >= 32 else { throw failure("simple value \(v) must use the one-byte form") }
            return .simple(v)
        case 25: return .float(Double(Float16Bits(UInt16(try uint(2))).value))
        case 26: return .float(Double(Float(bitPattern: UInt32(try uint(4)))))
        case 27: return .float(Double(bitPattern: try uint(8)))
        case 31:
            position = start
            throw failure("a break (0xff) outside an indefinite-length item")
        default: throw failure("reserved additional information \(info) in major type 7")
        }
    }
}

/// IEEE 754 half precision, decoded by hand (`Float16` is not on every Linux target).
struct Float16Bits {
    let bits: UInt16
    init(_ bits: UInt16) { self.bits = bits }

    var value: Float {
        let sign: Float = bits & 0x8000 == 0 ? 1 : -1
        let exponent = Int((bits >> 10) & 0x1F)
        let mantissa = Float(bits & 0x3FF)
        switch exponent {
        case 0: return sign * mantissa * Float(sign: .plus, exponent: -24, significand: 1)
        case 31: return mantissa == 0 ? sign * .infinity : .nan
        default: return sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }
}
