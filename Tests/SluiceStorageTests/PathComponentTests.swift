import Testing
import SluiceTestSupport
@testable import SluiceStorage

/// Names become exactly one safe path component, one-to-one, and names earlier versions
/// stored keep their directory names.
@Suite struct PathComponentTests {
    @Test func dotNamesAreNeverTheDirectoryOrItsParent() {
        #expect(PathComponent.encode(".") == "%2E")
        #expect(PathComponent.encode("..") == "%2E.")
        #expect(PathComponent.encode(".hidden") == "%2Ehidden")
        #expect(PathComponent.encode("") == "%")
    }

    @Test func namesEarlierVersionsStoredKeepTheirDirectory() {
        for name in ["telemetry", "a.b", "logs-2024_x", "x" + String(repeating: "y", count: 127), "Case", "case"] {
            #expect(PathComponent.encode(name) == name)
        }
    }

    @Test func everythingElseIsPercentEncoded() {
        #expect(PathComponent.encode("a/b") == "a%2Fb")
        #expect(PathComponent.encode("é") == "%C3%A9")
        #expect(PathComponent.encode("a%b") == "a%25b")
        #expect(PathComponent.encode("a\u{0}b") == "a%00b")
    }

    @Test func randomNamesRoundTripAndStaySafe() {
        var random = SeededRandom(seed: 15)
        let alphabet = Array("aZ09_-./%é\u{0} \n")
        for _ in 0..<5_000 {
            let name = String((0..<Int.random(in: 0...20, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            let component = PathComponent.encode(name)
            #expect(!component.isEmpty && component != "." && component != ".." && !component.contains("/"))
            #expect(PathComponent.decode(component) == name)
        }
    }

    @Test func strayDirectoryNamesDoNotDecode() {
        for junk in ["a/b", "%2", "%zz", "%2e", ".x", "a b", "%41"] {
            #expect(PathComponent.decode(junk) == nil, "\(junk)")
        }
    }
}
