/// A member's regular expression from the service model, matched against the whole value
/// as AWS (Java's `Pattern.matches`) does.
///
/// The patterns a request meets most (names, hash keys, sequence numbers) are matched by
/// hand: they are checked for every record of a request and must cost nothing. The rest
/// (ARNs) go to the standard library's `Regex`, compiled once.
struct Pattern: Sendable {
    let source: String
    private let matcher: @Sendable (String) -> Bool

    init(_ source: String) {
        self.source = source
        switch source {
        case "[a-zA-Z0-9_.-]+":
            matcher = { text in
                !text.isEmpty && text.utf8.allSatisfy { byte in
                    switch byte {
                    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
                    case UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"): true
                    default: false
                    }
                }
            }
        case "0|([1-9]\\d{0,38})": matcher = { Pattern.isDecimal($0, maxDigits: 39) }
        case "0|([1-9]\\d{0,128})": matcher = { Pattern.isDecimal($0, maxDigits: 129) }
        default:
            let regex = try? Regex(source)
            nonisolated(unsafe) let compiled = regex
            // A pattern the standard library cannot compile checks nothing rather than
            // refusing every request.
            matcher = { text in compiled.map { (try? $0.wholeMatch(in: text)) != nil } ?? true }
        }
    }

    func matches(_ text: String) -> Bool { matcher(text) }

    /// `0`, or up to `maxDigits` decimal digits without a leading zero.
    static func isDecimal(_ text: String, maxDigits: Int) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= maxDigits, bytes.allSatisfy({ (0x30...0x39).contains($0) }) else { return false }
        return first != 0x30 || bytes.count == 1
    }
}
