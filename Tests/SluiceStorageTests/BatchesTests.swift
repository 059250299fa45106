import SluiceTestSupport
import Testing
@testable import SluiceStorage

@Suite struct BatchesTests {
    @Test("batches cover every item once, in order, each within both bounds unless a lone item is bigger", arguments: [1, 2, 3, 99])
    func seededCuts(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed))
        for _ in 0..<200 {
            let count = Int(random.next() % 60)
            let sizes = (0..<count).map { _ in Int(random.next() % 1_200) }
            let maxCount = 1 + Int(random.next() % 20)
            let maxBytes = Int(random.next() % 2_000)
            let ranges = Batches.cut(count: count, maxCount: maxCount, maxBytes: maxBytes, size: { sizes[$0] })
            #expect(ranges.flatMap { Array($0) } == Array(0..<count), "every item once, in order")
            for range in ranges {
                #expect(!range.isEmpty && range.count <= maxCount)
                let bytes = range.reduce(0) { $0 + sizes[$1] }
                #expect(bytes <= maxBytes || range.count == 1, "over the byte bound only as a lone item")
                // Greedy: the next item would not have fitted.
                if range.upperBound < count, range.count < maxCount {
                    #expect(bytes + sizes[range.upperBound] > maxBytes)
                }
            }
        }
    }

    @Test func edgeCases() {
        #expect(Batches.cut(count: 0, maxBytes: 10, size: { _ in 1 }).isEmpty)
        #expect(Batches.cut(count: 3, maxBytes: 0, size: { _ in 5 }) == [0..<1, 1..<2, 2..<3])
        #expect(Batches.cut(count: 5, maxCount: 2, maxBytes: .max, size: { _ in 1 }) == [0..<2, 2..<4, 4..<5])
    }
}
