import Foundation
import Logging
import SluiceStorage
import SluiceTestSupport
import Synchronization
import Testing
@testable import SluiceGateway

@Suite struct DeviceKeyMapTests {
    @Test func parsesPairsCommentsAndBlankLines() throws {
        let keys = try DeviceKeyMap.parse("# inventory\n\ndev-1 site-a\ndev-2\tsite-b   # moved\r\n", file: "map")
        #expect(keys == ["dev-1": "site-a", "dev-2": "site-b"])
    }

    @Test func refusesBadLinesNamingFileAndLine() {
        #expect { try DeviceKeyMap.parse("dev-1 a\ndev-2 b c\n", file: "/etc/m") } throws: { error in
            "\(error)".contains("/etc/m:2") && "\(error)".contains("two fields")
        }
        #expect(throws: DeviceKeyMapError.self) { try DeviceKeyMap.parse("dev " + String(repeating: "k", count: 257), file: "m") }
    }

    @Test func mapperUsesTheMapAndKeepsTheRenderedKeyForUnknownDevices() throws {
        let dir = TemporaryDirectory()
        RawFile.write(dir.file("map"), Array("dev-1 site-a\n".utf8))
        let map = try DeviceKeyMap(path: dir.file("map"), logger: Logger(label: "test"))
        let mapper = PartitionKeyMapper(template: try PartitionKeyTemplate("{device}", allowedCaptures: ["device"]), deviceMap: map)
        #expect(mapper.key(for: .init(host: "h", captures: ["device": "dev-1"])).key == "site-a")
        #expect(mapper.key(for: .init(host: "h", captures: ["device": "dev-9"])).key == "dev-9")
    }

    @Test func reloadsWhenTheFileChangesAndKeepsTheOldMapWhenItBreaks() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("map")
        RawFile.write(path, Array("dev-1 a\n".utf8))
        let log = CapturedLog()
        let map = try DeviceKeyMap(path: path, checkEvery: .zero, logger: log.logger)
        RawFile.write(dir.file("next"), Array("dev-1 b\ndev-2 c\n".utf8))
        rename(dir.file("next"), path)
        map.reloadIfChanged()
        #expect(map.key(for: "dev-1") == "b")
        #expect(map.count == 2)
        RawFile.write(dir.file("next"), Array("dev-1 b x\n".utf8))
        rename(dir.file("next"), path)
        map.reloadIfChanged()
        #expect(map.key(for: "dev-1") == "b")
        #expect(log.messages.withLock { $0.contains { $0.contains("previous map stays in use") } })
    }

    @Test("the file is looked at no more than every check_every, on the injected clock")
    func reloadWaitsForItsInterval() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("map")
        RawFile.write(path, Array("dev-1 a\n".utf8))
        let clock = ManualTimeSource()
        let map = try DeviceKeyMap(path: path, checkEvery: .seconds(1), time: clock, logger: Logger(label: "test"))
        RawFile.write(dir.file("next"), Array("dev-1 b\n".utf8))
        rename(dir.file("next"), path)
        clock.advance(millis: 999)
        map.reloadIfChanged()
        #expect(map.key(for: "dev-1") == "a", "not looked at before its interval")
        clock.advance(millis: 1)
        map.reloadIfChanged()
        #expect(map.key(for: "dev-1") == "b", "looked at once the interval passed")
    }

    @Test func anUnreadableFileIsAStartError() {
        #expect { try DeviceKeyMap(path: "/nonexistent/map", logger: Logger(label: "t")) } throws: { error in
            "\(error)".contains("/nonexistent/map") && "\(error)".contains("cannot read")
        }
    }
}
