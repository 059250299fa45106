import Testing
@testable import SluiceStorage

@Suite struct SegmentHeaderTests {
    @Test func roundTrip() throws {
        for envelope in [[], [UInt8](repeating: 7, count: 90)] {
            let header = SegmentHeader(baseOffset: 123_456, createdAtMillis: 1_700_000_000_123, envelope: envelope)
            let bytes = header.encode()
            #expect(bytes.count == header.encodedSize)
            #expect(try SegmentHeader.decode(bytes + [1, 2, 3]) == header)
        }
    }

    @Test func everySingleByteFlipIsDetected() {
        let bytes = SegmentHeader(baseOffset: 42, createdAtMillis: 99).encode()
        for k in bytes.indices {
            var damaged = bytes
            damaged[k] ^= 0x01
            #expect(throws: StorageError.self) { try SegmentHeader.decode(damaged) }
        }
    }

    @Test func shortInputIsCorruptNotACrash() {
        let bytes = SegmentHeader(baseOffset: 1, createdAtMillis: 2).encode()
        for length in 0..<bytes.count {
            #expect(throws: StorageError.self) { try SegmentHeader.decode(Array(bytes[..<length])) }
        }
    }

    @Test func fileNamesSortByOffset() {
        #expect(Segment.fileName(baseOffset: 42) == "00000000000000000042.seg")
        #expect(Segment.baseOffset(fileName: "00000000000000000042.seg") == 42)
        #expect(Segment.baseOffset(fileName: "00000000000000000042.seg.broken") == nil)
        #expect(Segment.baseOffset(fileName: "42.seg") == nil)
        #expect(Segment.fileName(baseOffset: 9) < Segment.fileName(baseOffset: 10))
    }
}
