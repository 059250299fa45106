import CZlib
import CZstd
import Foundation
import SluiceEngine
import SluiceStorage
import Testing
@testable import SluiceExports

/// What goes into an object: framing (JSON lines that parse back) and compression that
/// zlib and libzstd decompress to the input.
@Suite struct ObjectContentTests {
    @Test func jsonLinesCarryTheMetadataAndEscapeTheKey() throws {
        var buffer: [UInt8] = []
        let key = "dev\"ice\\7\n\u{1}é"
        let record = StoredRecord(offset: 41, timestampMillis: 1_764_460_800_123, partitionKey: key, data: [0, 1, 2, 255])
        RecordFraming(format: .jsonLines).append(record, shardIndex: 3, to: &buffer)
        #expect(buffer.last == 0x0A)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer.dropLast())) as? [String: Any])
        #expect(object["partitionKey"] as? String == key)
        #expect(object["data"] as? String == Data([0, 1, 2, 255]).base64EncodedString())
        #expect(object["shardId"] as? String == "shardId-000000000003")
        #expect((object["approximateArrivalTimestamp"] as? NSNumber)?.int64Value == 1_764_460_800_123)
        #expect(object["sequenceNumber"] as? String == SequenceNumber(shardIndex: 3, offset: 41).description)
    }

    @Test func dataFramingWithAndWithoutNewlines() {
        let record = StoredRecord(offset: 0, timestampMillis: 0, partitionKey: "k", data: Array("abc".utf8))
        var plain: [UInt8] = []
        var lines: [UInt8] = []
        RecordFraming().append(record, shardIndex: 0, to: &plain)
        RecordFraming(newline: true).append(record, shardIndex: 0, to: &lines)
        #expect(plain == Array("abc".utf8) && lines == Array("abc\n".utf8))
    }

    @Test(arguments: [0, 1, 100, 1 << 20])
    func gzipAndZstdDecompressToTheInput(size: Int) throws {
        let input = (0..<size).map { UInt8(truncatingIfNeeded: $0 * 31 / 7) }
        let gz = try Compression.gzip.compress(input)
        #expect(gz.prefix(2) == [0x1F, 0x8B])
        #expect(try gunzip(gz, expected: size) == input)
        let zst = try Compression.zstd.compress(input)
        var output = [UInt8](repeating: 0, count: max(1, size))
        let written = output.withUnsafeMutableBytes { out in zst.withUnsafeBytes { ZSTD_decompress(out.baseAddress, out.count, $0.baseAddress, $0.count) } }
        #expect(ZSTD_isError(written) == 0)
        #expect(Array(output.prefix(written)) == input)
        #expect(try Compression.none.compress(input) == input)
    }

    func gunzip(_ bytes: [UInt8], expected: Int) throws -> [UInt8] {
        var stream = z_stream()
        #expect(inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: expected + 16)
        let status = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = UInt32(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                return inflate(&stream, Z_FINISH)
            }
        }
        #expect(status == Z_STREAM_END)
        return Array(output.prefix(Int(stream.total_out)))
    }
}
