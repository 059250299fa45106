import Foundation
import SluiceTestSupport
import Testing
@testable import SluiceStorage

/// The helpers that replace Foundation's full library in the modules agree with it here,
/// where the tests may link it as the reference.
@Suite struct TextFormattingTests {
    @Test("zero and hex padding print what String(format:) prints")
    func padding() {
        var random = SeededRandom(seed: 17)
        let samples: [Int] = [0, 1, -1, 9, 10, 999, 1000, -42, Int(Int32.max), Int(Int32.min)] + (0..<200).map { _ in Int(truncatingIfNeeded: random.next()) % 100_000 }
        for n in samples {
            for width in [0, 2, 3, 4, 8] {
                #expect(n.zeroPadded(width) == String(format: "%0\(width)ld", n), "\(n) \(width)")
            }
        }
        for byte in 0...255 {
            #expect(UInt8(byte).hexPadded(2, uppercase: true) == String(format: "%02X", byte))
            #expect(UInt32(byte).hexPadded(4) == String(format: "%04x", byte))
        }
    }

    @Test("fixed-point numbers print what %.Nf prints, away from the halfway cases")
    func fixedPoint() {
        var random = SeededRandom(seed: 5)
        let samples: [Double] = [0, 1, -1, 0.04, 0.06, 1.25e-7, 123.456, -9.99, 1e6, 42] + (0..<300).map { _ in Double(random.next() % 10_000_000) / 1000 - 5000 }
        for value in samples {
            for places in 0...3 {
                let text = String(format: "%.\(places)f", value)
                // Exactly halfway decimal values round to even in printf and away from zero here.
                let scaled = abs(value) * pow(10, Double(places))
                guard abs(scaled - scaled.rounded(.down) - 0.5) > 1e-6 else { continue }
                #expect(value.fixed(places) == text, "\(value) \(places)")
            }
        }
        #expect(Double.nan.fixed(1) == "nan" && Double.infinity.fixed(1) == "inf")
    }

    @Test("trimming and percent decoding agree with Foundation")
    func trimmingAndPercentDecoding() {
        for text in ["", "  ", " a ", "\t a b \n", "\r\nkey = value\r\n", "x", " \u{00A0}y\u{00A0} "] {
            #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(text.debugDescription)")
            #expect(text.trimmingLineBreaks() == text.trimmingCharacters(in: .newlines), "\(text.debugDescription)")
        }
        for text in ["a%20b", "%E2%82%AC", "100%", "%zz", "%4", "plain", "%C3%28", "%2F%2f", ""] {
            #expect(text.percentDecoded == text.removingPercentEncoding, "\(text)")
        }
    }

    @Test func detachedThreadRunsItsBody() async {
        let ran = await withCheckedContinuation { continuation in
            #expect(DetachedThread.start { continuation.resume(returning: true) })
        }
        #expect(ran)
    }
}
