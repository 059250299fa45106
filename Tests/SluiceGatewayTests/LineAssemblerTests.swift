import Testing
@testable import SluiceGateway

@Suite struct LineAssemblerTests {
    func run(_ chunks: [String], maxBytes: Int = 100, pattern: String? = nil, finish: Bool = false) throws -> [(String, Bool, Int64)] {
        var assembler = LineAssembler(maxBytes: maxBytes, marker: Array("~T".utf8), startPattern: try pattern.map { try Regex($0) }, offset: 0)
        var out: [(String, Bool, Int64)] = []
        var offset: Int64 = 0
        for chunk in chunks {
            let bytes = Array(chunk.utf8)
            assembler.feed(bytes[...], at: offset) { out.append((String(decoding: $0.bytes, as: UTF8.self), $0.truncated, $0.endOffset)) }
            offset += Int64(bytes.count)
        }
        if finish { assembler.finish(endOffset: offset) { out.append((String(decoding: $0.bytes, as: UTF8.self), $0.truncated, $0.endOffset)) } }
        return out
    }

    @Test func linesAcrossChunksWithOffsets() throws {
        let out = try run(["ab", "c\nde\r\n", "\nf"])
        #expect(out.map(\.0) == ["abc", "de"])
        #expect(out.map(\.2) == [4, 8])
    }

    @Test func partialLastLineWaitsUntilFinished() throws {
        #expect(try run(["a\nb"]).map(\.0) == ["a"])
        #expect(try run(["a\nb"], finish: true).map(\.0) == ["a", "b"])
    }

    @Test func longLinesAreCutWithTheMarkerAndTheRestSkipped() throws {
        let out = try run([String(repeating: "x", count: 50), String(repeating: "y", count: 50) + "\nok\n"], maxBytes: 10)
        #expect(out.map(\.0) == ["xxxxxxxx~T", "ok"])
        #expect(out.map(\.1) == [true, false])
    }

    @Test func multiLineRecordsStartAtThePattern() throws {
        let out = try run(["2026 start one\n  at a\n  at b\n2026 start two\n", "  at c\n"], pattern: "^\\d{4} ", finish: true)
        #expect(out.map(\.0) == ["2026 start one\n  at a\n  at b", "2026 start two\n  at c"])
    }

    @Test func resumeOffsetStaysAtTheStartOfTheGatheredRecord() throws {
        var assembler = LineAssembler(maxBytes: 100, marker: [], startPattern: try Regex("^S"), offset: 0)
        var emitted: [String] = []
        assembler.feed(Array("S1\n c\nS2\n d\n".utf8)[...], at: 0) { emitted.append(String(decoding: $0.bytes, as: UTF8.self)) }
        #expect(emitted == ["S1\n c"])
        #expect(assembler.resumeOffset == 6)
    }
}
