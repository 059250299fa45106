import FoundationEssentials
import SluiceStorage

/// JSON text built by hand where an encoder would cost more than the value (event-stream
/// headers, JSON lines of delivered objects).
public enum JSONText {
    /// A JSON string literal: RFC 8259's escapes for quote, backslash and control characters.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += "\\u" + scalar.value.hexPadded(4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
