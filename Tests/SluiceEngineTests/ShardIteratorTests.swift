import Crypto
import Foundation
import Testing
@testable import SluiceEngine

@Suite struct ShardIteratorTests {
    let key = SymmetricKey(size: .bits256)
    let iterator = ShardIterator(streamName: "orders", streamCreatedAt: 1_700_000_000_000, shardIndex: 5, offset: 123_456, issuedAt: 1_700_000_100_000)

    @Test func roundTrip() {
        #expect(ShardIterator.decode(iterator.token(key: key), key: key) == iterator)
    }

    @Test func anyChangedByteIsRejected() {
        let bytes = [UInt8](Data(base64Encoded: iterator.token(key: key))!)
        for k in bytes.indices {
            var changed = bytes
            changed[k] ^= 0x04
            #expect(ShardIterator.decode(Data(changed).base64EncodedString(), key: key) == nil, "byte \(k)")
        }
    }

    @Test func anotherKeyOrGarbageIsRejected() {
        #expect(ShardIterator.decode(iterator.token(key: key), key: SymmetricKey(size: .bits256)) == nil)
        #expect(ShardIterator.decode("not base64!", key: key) == nil)
        #expect(ShardIterator.decode("", key: key) == nil)
        #expect(ShardIterator.decode(String(repeating: "A", count: 600), key: key) == nil)
    }
}
