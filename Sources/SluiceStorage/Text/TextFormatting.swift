#if canImport(Glibc)
import Glibc
#endif

/// The few text helpers the modules used from Foundation's full library (`String(format:)`,
/// `trimmingCharacters`, percent decoding), written out so that no module links it: those
/// calls alone pulled ICU's 40 MB into the static binaries (FoundationEssentials, which the
/// modules import instead, has no ICU).
extension BinaryInteger {
    /// The decimal digits, left-padded with zeros to `width` characters, a minus sign
    /// included (`%0*ld`).
    public func zeroPadded(_ width: Int) -> String {
        let digits = String(self.magnitude)
        let sign = self < 0 ? "-" : ""
        return sign + String(repeating: "0", count: max(0, width - digits.count - sign.count)) + digits
    }

    /// The value in hexadecimal, left-padded with zeros to `width`.
    public func hexPadded(_ width: Int, uppercase: Bool = false) -> String {
        let digits = String(self, radix: 16, uppercase: uppercase)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

extension BinaryFloatingPoint {
    /// The value with `places` digits after the point, rounded half away from zero
    /// (`String(format: "%.1f")` without its library).
    public func fixed(_ places: Int) -> String {
        let value = Double(self)
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9.0e18 else { return String(value) }
        let whole = UInt64(scaled)
        let unit = UInt64(scale)
        let sign = value < 0 && whole > 0 ? "-" : ""
        guard places > 0 else { return sign + String(whole) }
        return sign + String(whole / unit) + "." + (whole % unit).zeroPadded(places)
    }
}

extension StringProtocol {
    /// Without leading and trailing whitespace (spaces, tabs and line breaks).
    public func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        return String(self[first...last])
    }

    /// `%XX` escapes decoded as UTF-8; nil when an escape is malformed or the bytes are not
    /// UTF-8 (as Foundation's `removingPercentEncoding`).
    public var percentDecoded: String? {
        var bytes: [UInt8] = []
        var input = utf8.makeIterator()
        while let byte = input.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = input.next().flatMap(Self.hexValue), let low = input.next().flatMap(Self.hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Writes to standard error unbuffered (`FileHandle.standardError` without its library).
public enum StandardError {
    public static func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing line breaks (a secret read from a file keeps its spaces).
    public func trimmingLineBreaks() -> String {
        guard let first = firstIndex(where: { !$0.isNewline }) else { return "" }
        let last = lastIndex(where: { !$0.isNewline })!
        return String(self[first...last])
    }
}
