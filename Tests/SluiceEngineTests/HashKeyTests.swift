import Testing
@testable import SluiceEngine

@Suite struct HashKeyTests {
    @Test func md5OfThePartitionKeyAsABigEndianInteger() {
        // Values from Python: int(hashlib.md5(key.encode()).hexdigest(), 16).
        #expect(HashKey.of(partitionKey: "user1") == UInt128("48900430532020830442050270794663993245")!)
        #expect(HashKey.of(partitionKey: "a") == UInt128("16955237001963240173058271559858726497")!)
        #expect(HashKey.of(partitionKey: "device-42") == UInt128("223081048512968852806315647540369465148")!)
    }

    @Test func evenSplitMatchesKinesis() {
        let two = HashKey.evenRanges(count: 2)
        #expect(two.map { String($0.lowerBound) } == ["0", "170141183460469231731687303715884105728"])
        #expect(two.map { String($0.upperBound) } == ["170141183460469231731687303715884105727", "340282366920938463463374607431768211455"])
        let three = HashKey.evenRanges(count: 3)
        #expect(three.map { String($0.lowerBound) } == [
            "0", "113427455640312821154458202477256070485", "226854911280625642308916404954512140970",
        ])
        #expect(HashKey.evenRanges(count: 1) == [0...UInt128.max])
        for count in [1, 2, 3, 4, 5, 7, 16, 100] {
            let ranges = HashKey.evenRanges(count: count)
            #expect(ranges.first!.lowerBound == 0 && ranges.last!.upperBound == .max)
            for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound + 1 == b.lowerBound) }
        }
    }

    @Test func explicitHashKeysParseOnlyInRange() {
        #expect(HashKey.parse("0") == 0)
        #expect(HashKey.parse("340282366920938463463374607431768211455") == .max)
        #expect(HashKey.parse("340282366920938463463374607431768211456") == nil)
        #expect(HashKey.parse("-1") == nil)
        #expect(HashKey.parse("12a") == nil)
        #expect(HashKey.parse("") == nil)
    }
}

@Suite struct SequenceNumberTests {
    @Test func formatAndParse() {
        let number = SequenceNumber(shardIndex: 3, offset: 42)
        #expect(number.description == "4000000000000003000000000000000000000042")
        #expect(number.description.count == 40)
        #expect(SequenceNumber(number.description) == number)
        #expect(SequenceNumber("123") == nil)
        #expect(SequenceNumber("5000000000000003000000000000000000000042") == nil)
    }

    @Test func stringOrderIsNumericOrderAndChildrenComeAfterParents() {
        let numbers = [
            SequenceNumber(shardIndex: 0, offset: 0), SequenceNumber(shardIndex: 0, offset: 9),
            SequenceNumber(shardIndex: 0, offset: 10), SequenceNumber(shardIndex: 1, offset: 0),
            SequenceNumber(shardIndex: 12, offset: 999_999_999_999),
        ]
        #expect(numbers == numbers.sorted())
        #expect(numbers.map(\.description) == numbers.map(\.description).sorted())
        // Same width everywhere, so string order is numeric order (they exceed 128 bits,
        // as real Kinesis sequence numbers do; clients parse them as big integers).
        #expect(Set(numbers.map(\.description.count)) == [40])
    }

    @Test func shardIds() {
        #expect(ShardID.string(7) == "shardId-000000000007")
        #expect(ShardID.index("shardId-000000000007") == 7)
        #expect(ShardID.index("7") == 7)
        #expect(ShardID.index("shardId-x") == nil)
    }
}
