import Foundation
import SluiceTestSupport
import Testing
@testable import SluiceExports

@Suite struct ObjectPrefixTests {
    struct Fixed: RandomNumberGenerator {
        var state: UInt64 = 1
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
    }

    func render(_ template: String, _ millis: Int64 = 1_764_460_800_123) throws -> String {
        var random = Fixed()
        return try ObjectPrefix(template).render(arrivalMillis: millis, using: &random)
    }

    @Test func expandsTimestampsAndAppendsTheHourWhenNoneIsGiven() throws {
        // 2025-11-30T00:00:00.123Z
        #expect(try render("logs/!{timestamp:yyyy/MM/dd}/") == "logs/2025/11/30/")
        #expect(try render("!{timestamp:yyyy-MM-dd_HH.mm.ss}/", 1_764_460_800_123 + 3_723_000) == "2025-11-30_01.02.03/")
        #expect(try render("") == "2025/11/30/00/")
        #expect(try render("app-") == "app-2025/11/30/00/")
        let random = try render("r/!{firehose:random-string}/!{timestamp:yyyy}/")
        #expect(random.count == "r/".count + 11 + "/2025/".count && random.hasPrefix("r/") && random.hasSuffix("/2025/"))
    }

    @Test func refusesWhatCouldLeaveTheDirectoryOrIsNotSupported() {
        for bad in ["/abs/", "a/../b/", "../", "./x", "x/!{timestamp:yyyy", "!{partitionKeyFromLambda:id}/", "!{partitionKeyFromQuery:}/", "!{timestamp:yyyy/QQ}", "!{timestamp:}", "a\0b"] {
            #expect(throws: ObjectPrefix.Problem.self, "\(bad)") { try ObjectPrefix(bad) }
        }
    }

    @Test func partitionValuesAndErrorTypesStayOneComponentEach() throws {
        let prefix = try ObjectPrefix("site=!{partitionKeyFromQuery:site}/key=!{partitionKey}/")
        #expect(prefix.partitionNames == ["site", Partition.recordKey])
        var random = SystemRandomNumberGenerator()
        let rendered = prefix.render(arrivalMillis: 0, partition: Partition(["site": "../etc", Partition.recordKey: "a/b"]), using: &random)
        #expect(rendered == "site=%2E.%2Fetc/key=a%2Fb/1970/01/01/00/")
        let errors = try ObjectPrefix("err/!{firehose:error-output-type}/")
        #expect(errors.hasErrorOutputType)
        #expect(errors.render(arrivalMillis: 0, errorOutputType: "processing-failed", using: &random) == "err/processing-failed/1970/01/01/00/")
    }

    /// The hand-written calendar agrees with Foundation's over the whole range users meet.
    @Test func utcTimeMatchesFoundation() {
        var random = SeededRandom(seed: 3)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for _ in 0..<2000 {
            let millis = Int64.random(in: 0...4_102_444_800_000, using: &random)  // 1970–2100
            let date = Date(timeIntervalSince1970: Double(millis) / 1000)
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let time = UTCTime(millis: millis)
            let ours: [Int] = [time.year, time.month, time.day, time.hour, time.minute, time.second]
            let foundation: [Int] = [parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!]
            #expect(ours == foundation, "\(millis)")
        }
    }
}
