import Foundation
import Testing
import SluiceTestSupport
@testable import SluiceStorage

/// A corpus of damaged segments: each case damages a real log in one way and checks that
/// recovery cuts what a crash can explain, quarantines what it cannot, and serves the rest.
@Suite struct RecoveryCorpusTests {
    /// A log of `segments` segments with 10 records each, closed cleanly.
    func makeLog(_ tmp: TemporaryDirectory, segments: Int = 1) async throws -> [String] {
        let clock = ManualTimeSource()
        let log = try ShardLog(directory: shardDirectory(tmp), options: LogOptions(segmentMaxAgeMillis: 1000), clock: clock)
        for s in 0..<segments {
            for n in 0..<10 { _ = try await log.append(records(s * 10 + n..<s * 10 + n + 1, padding: 20)) }
            clock.advance(millis: 1000)
        }
        try await log.close()
        return segmentFiles(shardDirectory(tmp))
    }

    func expectTornTail(_ tmp: TemporaryDirectory, damage: (String) -> Void, survivors: Int, file: StaticString = #file) async throws {
        let files = try await makeLog(tmp)
        let original = RawFile.read(files[0])
        damage(files[0])
        let damaged = RawFile.read(files[0])
        let log = try ShardLog(directory: shardDirectory(tmp))
        let report = log.recoveryReport
        #expect(report.quarantined.isEmpty)
        #expect(report.tornTails.count == 1)
        let torn = try #require(report.tornTails.first)
        // The cut bytes are kept, byte for byte, and the segment ends where they began.
        #expect(RawFile.read(torn.brokenFile) == Array(damaged[Int(torn.position)...]))
        #expect(RawFile.size(files[0]) == Int(torn.position))
        #expect(Array(original.prefix(Int(torn.position))) == Array(damaged.prefix(Int(torn.position))))
        let stored = try readAll(log)
        #expect(stored.map(\.data) == records(0..<survivors, padding: 20).map(\.data))
        // Appends continue right after the last good record, and recovery is idempotent.
        #expect(try await log.append(records(100..<101)).firstOffset == UInt64(survivors))
        try await log.close()
        let again = try ShardLog(directory: shardDirectory(tmp))
        #expect(again.recoveryReport.tornTails.isEmpty && again.recoveryReport.quarantined.isEmpty)
        #expect(try readAll(again).count == survivors + 1)
    }

    @Test func lastFrameCutShort() async throws {
        try await expectTornTail(TemporaryDirectory(), damage: { path in
            let bytes = RawFile.read(path)
            RawFile.write(path, Array(bytes.dropLast(5)))
        }, survivors: 9)
    }

    @Test func fewerBytesThanAFrameHeader() async throws {
        try await expectTornTail(TemporaryDirectory(), damage: { RawFile.append($0, [1, 2, 3, 4, 5]) }, survivors: 10)
    }

    @Test func lengthRunsPastEndOfFile() async throws {
        try await expectTornTail(TemporaryDirectory(), damage: { RawFile.append($0, [0xE8, 0x03, 0, 0, 1, 2, 3, 4, 9, 9]) }, survivors: 10)
    }

    @Test func zeroFilledTail() async throws {
        try await expectTornTail(TemporaryDirectory(), damage: { RawFile.append($0, [UInt8](repeating: 0, count: 4096)) }, survivors: 10)
    }

    @Test func flippedByteInTheLastFrame() async throws {
        try await expectTornTail(TemporaryDirectory(), damage: { path in
            RawFile.flip(path, at: RawFile.size(path) - 3)
        }, survivors: 9)
    }

    @Test func newestSegmentWithAnUnfinishedHeader() async throws {
        let tmp = TemporaryDirectory()
        _ = try await makeLog(tmp)
        let stray = shardDirectory(tmp) + "/" + Segment.fileName(baseOffset: 10)
        RawFile.write(stray, Array(SegmentHeader(baseOffset: 10, createdAtMillis: 1).encode().prefix(10)))
        let log = try ShardLog(directory: shardDirectory(tmp))
        #expect(log.recoveryReport.tornTails.map(\.position) == [0])
        #expect(!RawFile.exists(stray))
        #expect(RawFile.size(stray + ".broken") == 10)
        #expect(try readAll(log).count == 10)
        #expect(try await log.append(records(10..<11)).firstOffset == 10)
    }

    @Test func flippedByteInsideTheNewestSegmentCostsOnlyTheDamagedFrame() async throws {
        let tmp = TemporaryDirectory()
        let files = try await makeLog(tmp, segments: 2)
        let header = SegmentHeader(baseOffset: 10, createdAtMillis: 0).encodedSize
        RawFile.flip(files[1], at: header + 20)
        let original = RawFile.read(files[1])
        let log = try ShardLog(directory: shardDirectory(tmp))
        let report = log.recoveryReport
        #expect(report.tornTails.isEmpty && report.quarantined.isEmpty)
        let salvage = try #require(report.salvaged.first)
        #expect(salvage.file == files[1])
        #expect(salvage.position == Int64(header))
        #expect(salvage.reason.contains("CRC"))
        #expect(salvage.lostRecords == 1)
        // The damaged bytes onwards are kept as evidence, byte for byte.
        #expect(RawFile.read(files[1] + ".damaged") == Array(original[header...]))
        // Every record but the one in the damaged frame is served, in order.
        let expected = records(0..<20, padding: 20).enumerated().filter { $0.offset != 10 }.map(\.element.data)
        #expect(try readAll(log).map(\.data) == expected)
        // Appends continue after the last salvaged record; a reopen changes nothing more.
        #expect(try await log.append(records(50..<51)).firstOffset == 20)
        try await log.close()
        let again = try ShardLog(directory: shardDirectory(tmp))
        #expect(again.recoveryReport.salvaged.isEmpty && again.recoveryReport.quarantined.isEmpty)
        #expect(try readAll(again).count == 20)
    }

    @Test func severalDamagedFramesAreEachCutOutAlone() async throws {
        let tmp = TemporaryDirectory()
        let files = try await makeLog(tmp, segments: 1)
        let bytes = RawFile.read(files[0])
        let header = SegmentHeader(baseOffset: 0, createdAtMillis: 0).encodedSize
        let frame = (bytes.count - header) / 10
        for k in [2, 3, 7] { RawFile.flip(files[0], at: header + k * frame + 30) }
        let log = try ShardLog(directory: shardDirectory(tmp))
        let expected = records(0..<10, padding: 20).enumerated().filter { ![2, 3, 7].contains($0.offset) }.map(\.element.data)
        #expect(try readAll(log).map(\.data) == expected)
        #expect(log.recoveryReport.salvaged.first?.damagedRanges.count == 2)
        #expect(try await log.append(records(10..<11)).firstOffset == 10)
    }

    @Test func damageWithNothingValidAfterItKeepsThePrefix() async throws {
        let tmp = TemporaryDirectory()
        let files = try await makeLog(tmp, segments: 1)
        let size = RawFile.size(files[0])
        // The bodies of the last two frames damaged (their lengths intact, so no torn tail):
        // no valid frame follows the first damage.
        let header = SegmentHeader(baseOffset: 0, createdAtMillis: 0).encodedSize
        let frame = (size - header) / 10
        RawFile.flip(files[0], at: header + 8 * frame + 30)
        RawFile.flip(files[0], at: header + 9 * frame + 30)
        let log = try ShardLog(directory: shardDirectory(tmp))
        let salvage = try #require(log.recoveryReport.salvaged.first, "\(log.recoveryReport)")
        #expect(salvage.salvagedSegments.isEmpty && salvage.damagedRanges.count == 1)
        #expect(try readAll(log).map(\.data) == records(0..<8, padding: 20).map(\.data))
        // No offset the damaged tail could have held is handed out again.
        #expect(try await log.append(records(10..<11)).firstOffset >= UInt64(size))
    }

    @Test func damageInAnOlderSegmentCostsOnlyItsDamagedFrame() async throws {
        let tmp = TemporaryDirectory()
        let files = try await makeLog(tmp, segments: 3)
        RawFile.flip(files[1], at: RawFile.size(files[1]) - 3)
        let log = try ShardLog(directory: shardDirectory(tmp))
        #expect(log.recoveryReport.tornTails.isEmpty)
        #expect(log.recoveryReport.salvaged.map(\.file) == [files[1]])
        let stored = try readAll(log)
        #expect(stored.map(\.offset) == Array(0..<19) + Array(20..<30))
        #expect(try await log.append(records(30..<31)).firstOffset == 30)
    }

    @Test func corruptHeaderInAnOlderSegment() async throws {
        let tmp = TemporaryDirectory()
        let files = try await makeLog(tmp, segments: 2)
        RawFile.flip(files[0], at: 3)
        let log = try ShardLog(directory: shardDirectory(tmp))
        #expect(log.recoveryReport.quarantined.first?.position == 0)
        #expect(log.recoveryReport.quarantined.first?.reason.contains("magic") == true)
        #expect(try readAll(log).map(\.offset) == Array(10..<20))
        #expect(log.trimHorizon == 10)
    }

    @Test func verifyReportsDamageWithoutTouchingFiles() async throws {
        let tmp = TemporaryDirectory()
        let streamDirectory = tmp.file("streams/s")
        let log = try ShardLog(directory: streamDirectory + "/shardId-000000000000", options: LogOptions(segmentMaxBytes: 2048))
        for n in 0..<100 { _ = try await log.append(records(n..<n + 1, padding: 20)) }
        try await log.close()
        RawFile.write(streamDirectory + "/stream.json", Array("{}".utf8))
        let clean = try DataDirectoryVerifier().verify(dataDirectory: tmp.path)
        #expect(clean.isClean)
        #expect(clean.records == 100)
        #expect(clean.streams == 1 && clean.shards == 1)

        let files = segmentFiles(streamDirectory + "/shardId-000000000000")
        RawFile.flip(files[0], at: 100)
        RawFile.append(files.last!, [7, 7, 7])
        let before = files.map(RawFile.read)
        let damaged = try DataDirectoryVerifier().verify(dataDirectory: tmp.path)
        #expect(!damaged.isClean)
        #expect(damaged.findings.contains { $0.file == files[0] && $0.message.contains("CRC") })
        #expect(damaged.findings.contains { $0.file == files.last! && $0.message.contains("torn tail") })
        #expect(files.map(RawFile.read) == before)
    }
}
