/// Turns a name a client or a config chose (a stream, a source, an export) into exactly
/// one safe path component, and back.
///
/// Why: Kinesis' stream-name alphabet `[a-zA-Z0-9_.-]` allows `.` and `..`, which as
/// directory names are the directory itself and its parent; a stream named `..` once
/// wrote its metadata beside every other stream and vanished at the next start. Names
/// are therefore never used as paths as they are.
///
/// The encoding (FORMAT.md, "Names in paths"): ASCII letters, digits, `_` and `-` stay;
/// `.` stays except as the first character; every other byte of the UTF-8 form, and a
/// leading `.`, is written `%XX` (two upper-case hex digits). `%` is outside every name
/// alphabet Sluice accepts, so the mapping is one-to-one, and the names every earlier
/// version could store safely keep their directory names (and so the labels that bind
/// their encrypted segments to their place).
public enum PathComponent {
    /// The path component for `name`; never empty, never `.` or `..`, never holds `/`.
    public static func encode(_ name: String) -> String {
        if name.isEmpty { return "%" }
        var out = ""
        out.reserveCapacity(name.utf8.count)
        for (index, byte) in name.utf8.enumerated() {
            if isKept(byte) && !(byte == UInt8(ascii: ".") && index == 0) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + hex(byte >> 4) + hex(byte & 0xF)
            }
        }
        return out
    }

    /// The name `component` encodes, or nil when it is not the output of `encode`
    /// (a stray file, a directory from somewhere else).
    public static func decode(_ component: String) -> String? {
        if component == "%" { return "" }
        var bytes: [UInt8] = []
        var iterator = Array(component.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                guard isKept(byte) else { return nil }
                bytes.append(byte)
            }
        }
        guard let name = String(validating: bytes, as: UTF8.self), encode(name) == component else { return nil }
        return name
    }

    private static func isKept(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }

    private static func hex(_ nibble: UInt8) -> String {
        String(Unicode.Scalar(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") + nibble - 10))
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
