import Foundation
import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceKinesis

/// The CBOR codec (RFC 8949 Appendix A's vectors, the indefinite lengths the Java SDK's
/// Jackson writes, bounds on hostile input) and the Kinesis transcoding of `CBOR.md`.
@Suite struct CBORTests {
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var chars = text.makeIterator()
        while let a = chars.next(), let b = chars.next() { bytes.append(UInt8(String([a, b]), radix: 16)!) }
        return bytes
    }

    /// RFC 8949 Appendix A: encodings and what they decode to.
    static let vectors: [(String, CBORValue)] = [
        ("00", .unsigned(0)), ("17", .unsigned(23)), ("1818", .unsigned(24)), ("1903e8", .unsigned(1000)),
        ("1b000000e8d4a51000", .unsigned(1_000_000_000_000)), ("1bffffffffffffffff", .unsigned(.max)),
        ("20", .negative(0)), ("3863", .negative(99)), ("3bffffffffffffffff", .negative(.max)),
        ("f4", .bool(false)), ("f5", .bool(true)), ("f6", .null), ("f7", .undefined), ("f0", .simple(16)), ("f8ff", .simple(255)),
        ("40", .bytes([])), ("4401020304", .bytes([1, 2, 3, 4])), ("60", .text("")), ("6449455446", .text("IETF")),
        ("62c3bc", .text("ü")), ("80", .array([])), ("83010203", .array([.unsigned(1), .unsigned(2), .unsigned(3)])),
        ("a201020304", .map([(.unsigned(1), .unsigned(2)), (.unsigned(3), .unsigned(4))])),
        ("c11a514b67b0", .tagged(1, .unsigned(1_363_896_240))),
        ("fb3ff199999999999a", .float(1.1)),
    ]

    @Test func rfcVectorsDecodeAndEncodeBack() throws {
        for (text, value) in Self.vectors {
            #expect(try CBORValue.decode(Self.hex(text)) == value, "\(text)")
            #expect(value.encoded == Self.hex(text), "\(text)")
        }
    }

    @Test func halfAndSingleFloatsDecode() throws {
        #expect(try CBORValue.decode(Self.hex("f93c00")) == .float(1.0))
        #expect(try CBORValue.decode(Self.hex("f9c400")) == .float(-4.0))
        #expect(try CBORValue.decode(Self.hex("f97bff")) == .float(65504.0))
        #expect(try CBORValue.decode(Self.hex("f90001")) == .float(5.960464477539063e-8))
        #expect(try CBORValue.decode(Self.hex("f97c00")) == .float(.infinity))
        #expect(try CBORValue.decode(Self.hex("fa47c35000")) == .float(100000.0))
    }

    /// What Jackson's CBOR generator writes under the Java SDK: indefinite-length maps,
    /// arrays and chunked strings.
    @Test func indefiniteLengthItemsDecode() throws {
        #expect(try CBORValue.decode(Self.hex("9f018202039f0405ffff")) == .array([
            .unsigned(1), .array([.unsigned(2), .unsigned(3)]), .array([.unsigned(4), .unsigned(5)]),
        ]))
        #expect(try CBORValue.decode(Self.hex("bf61610161629f0203ffff")) == .map([
            (.text("a"), .unsigned(1)), (.text("b"), .array([.unsigned(2), .unsigned(3)])),
        ]))
        #expect(try CBORValue.decode(Self.hex("5f42010243030405ff")) == .bytes([1, 2, 3, 4, 5]))
        #expect(try CBORValue.decode(Self.hex("7f657374726561646d696e67ff")) == .text("streaming"))
    }

    @Test func malformedItemsAreErrorsThatSayWhere() {
        let cases: [(String, String)] = [
            ("", "ends early"), ("18", "ends early"), ("1c", "reserved"), ("ff", "break"), ("5f01ff", "another type"),
            ("62c328", "UTF-8"), ("0001", "follow"), ("5b7fffffffffffffff00", "bytes left"), ("9b7fffffffffffffff", "bytes left"),
            ("bb7fffffffffffffff", "bytes left"), ("1f", "indefinite"), ("f818", "one-byte"),
            (String(repeating: "81", count: 200) + "00", "deeper"),
        ]
        for (text, words) in cases {
            #expect { try CBORValue.decode(Self.hex(text)) } throws: { error in
                (error as? CBORDecodingError)?.message.contains(words) == true
            }
        }
    }

    /// Damaged encodings of a realistic request: each decodes or is refused, none traps.
    @Test func fuzzedBodiesNeverTrap() throws {
        let valid = CBORValue.map([
            (.text("StreamName"), .text("s")), (.text("Records"), .array((0..<5).map { n in
                .map([(.text("Data"), .bytes(Array("record \(n)".utf8))), (.text("PartitionKey"), .text("k\(n)"))])
            })), (.text("Timestamp"), .tagged(1, .unsigned(1_700_000_000_123))), (.text("Limit"), .float(1.5)),
        ]).encoded
        var random = SeededRandom(seed: 21)
        for _ in 0..<5_000 {
            let damaged = ByteMutator.mutate(valid, &random)
            if let item = try? CBORValue.decode(damaged) { _ = try? KinesisCBOR.json(item, member: nil, path: "") }
        }
    }

    @Test func randomItemsRoundTrip() throws {
        var random = SeededRandom(seed: 5)
        func item(_ depth: Int) -> CBORValue {
            switch Int.random(in: 0..<(depth > 3 ? 6 : 9), using: &random) {
            case 0: .unsigned(UInt64.random(in: 0...UInt64.max, using: &random) >> UInt64.random(in: 0...63, using: &random))
            case 1: .negative(UInt64.random(in: 0...1_000_000, using: &random))
            case 2: .bytes((0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
            case 3: .text(String(repeating: "é", count: Int.random(in: 0...30, using: &random)))
            case 4: .float(Double.random(in: -1e9...1e9, using: &random))
            case 5: [.bool(true), .bool(false), .null][Int.random(in: 0...2, using: &random)]
            case 6: .array((0..<Int.random(in: 0...4, using: &random)).map { _ in item(depth + 1) })
            case 7: .map((0..<Int.random(in: 0...4, using: &random)).map { k in (.text("k\(k)"), item(depth + 1)) })
            default: .tagged(UInt64.random(in: 0...100, using: &random), item(depth + 1))
            }
        }
        for _ in 0..<500 {
            let value = item(0)
            #expect(try CBORValue.decode(value.encoded) == value)
        }
    }

    @Test func requestsReadAsTheJSONTheyStandFor() throws {
        let body = CBORValue.map([
            (.text("StreamName"), .text("s")), (.text("Data"), .bytes([0, 1, 0xFF])),
            (.text("Timestamp"), .tagged(1, .unsigned(1_700_000_000_123))), (.text("Limit"), .unsigned(10)),
            (.text("Seconds"), .tagged(1, .float(1.5))), (.text("Negative"), .negative(4)),
        ]).encoded
        let json = String(decoding: try KinesisCBOR.json(fromCBOR: body), as: UTF8.self)
        #expect(json == #"{"StreamName":"s","Data":"AAH/","Timestamp":1700000000.123,"Limit":10,"Seconds":1.5,"Negative":-5}"#)
        #expect(throws: KinesisError.self) { try KinesisCBOR.json(fromCBOR: Self.hex("a1016161")) } // a key that is not text
        #expect(throws: KinesisError.self) { try KinesisCBOR.json(fromCBOR: Self.hex("a16154c16161")) } // tag 1 around text
    }

    @Test func responsesCarryBlobsAsBytesAndTimestampsAsTaggedMilliseconds() throws {
        let json = #"{"Records":[{"Data":"AAH/","ApproximateArrivalTimestamp":1700000000.123,"SequenceNumber":"49"}],"MillisBehindLatest":0,"Ratio":0.5}"#
        let item = try CBORValue.decode(try KinesisCBOR.cbor(fromJSON: Array(json.utf8)))
        guard case .array(let records) = item["Records"] else { Issue.record("no Records"); return }
        #expect(records[0]["Data"] == .bytes([0, 1, 0xFF]))
        #expect(records[0]["ApproximateArrivalTimestamp"] == .tagged(1, .unsigned(1_700_000_000_123)))
        #expect(records[0]["SequenceNumber"] == .text("49"))
        #expect(item["MillisBehindLatest"] == .unsigned(0))
        #expect(item["Ratio"] == .float(0.5))
    }

    @Test func theContentTypeChoosesTheFormat() {
        #expect(KinesisBodyFormat(contentType: "application/x-amz-cbor-1.1") == .cbor)
        #expect(KinesisBodyFormat(contentType: "Application/X-Amz-Cbor-1.1; charset=utf-8") == .cbor)
        #expect(KinesisBodyFormat(contentType: "application/x-amz-json-1.1") == .json)
        #expect(KinesisBodyFormat(contentType: nil) == .json)
    }
}
