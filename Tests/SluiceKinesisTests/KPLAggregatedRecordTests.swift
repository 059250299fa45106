import Crypto
import SluiceStorage
import Testing
@testable import SluiceKinesis

@Suite struct KPLAggregatedRecordTests {
    /// Bytes aws-kinesis-agg (the Python reference) produced for ("k1", "hello"), ("k2", "world").
    let reference: [UInt8] = hex("f3899ac20a026b310a026b321a0908001a0568656c6c6f1a0908011a05776f726c64c4b234c121650f4512d22bf67dca9de2")

    @Test func packsExactlyAsTheReferenceLibrary() {
        let packed = KPLAggregatedRecord.pack([.init(partitionKey: "k1", data: Array("hello".utf8)), .init(partitionKey: "k2", data: Array("world".utf8))], maxBytes: 1 << 20)
        #expect(packed.count == 1)
        #expect(packed[0].partitionKey == "k1" && packed[0].count == 2)
        #expect(packed[0].data == reference)
    }

    @Test func unpacksTheReferenceLibrarysRecord() throws {
        let users = try KPLAggregatedRecord.unpack(reference, partitionKey: "k1")
        #expect(users == [.init(partitionKey: "k1", data: Array("hello".utf8)), .init(partitionKey: "k2", data: Array("world".utf8))])
    }

    @Test func roundTripsWithinTheSizeBoundKeepingOrderKeysAndHashKeys() throws {
        let records = (0..<1000).map { n in
            KPLAggregatedRecord.UserRecord(partitionKey: "key-\(n % 7)", explicitHashKey: n % 5 == 0 ? "\(n)" : nil, data: Array(repeating: UInt8(n % 251), count: n % 300))
        }
        let packed = KPLAggregatedRecord.pack(records, maxBytes: 10_000)
        #expect(packed.count > 10)
        #expect(packed.allSatisfy { $0.data.count <= 10_000 })
        #expect(packed.reduce(0) { $0 + $1.count } == 1000)
        let back = try packed.flatMap { try KPLAggregatedRecord.unpack($0.data, partitionKey: $0.partitionKey) }
        #expect(back == records)
    }

    @Test func aRecordTooLargeToShareGoesAloneAndPlainRecordsPassThrough() throws {
        let big = KPLAggregatedRecord.UserRecord(partitionKey: "big", data: Array(repeating: 1, count: 5000))
        let packed = KPLAggregatedRecord.pack([.init(partitionKey: "a", data: [1]), big, .init(partitionKey: "b", data: [2])], maxBytes: 1000)
        #expect(packed.map(\.count) == [1, 1, 1])
        #expect(packed[1].data == big.data)
        #expect(try KPLAggregatedRecord.unpack(big.data, partitionKey: "big") == [big])
    }

    @Test func damageIsNotMistakenForAggregation() throws {
        var corrupted = reference
        corrupted[10] ^= 0xFF
        #expect(!KPLAggregatedRecord.isAggregated(corrupted))
        #expect(try KPLAggregatedRecord.unpack(corrupted, partitionKey: "p") == [.init(partitionKey: "p", data: corrupted)])
        // Magic and checksum right, protobuf broken: an error, not garbage records.
        let body: [UInt8] = [0x1A, 0x7F, 0x00]
        let forged = KPLAggregatedRecord.magic + body + Array(Insecure.MD5.hash(data: body))
        let error = #expect(throws: KPLFormatError.self) { try KPLAggregatedRecord.unpack(forged, partitionKey: "p") }
        #expect(error?.code == .truncated && error?.message.hasPrefix("aggregated record: ") == true)
    }
}

func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}
