import SluiceStorage
import Testing
@testable import SluiceGateway

@Suite struct PartitionKeyTests {
    let json = try! JSONParser.parse(Array(#"{"device":{"id":"d-7","rack":3},"ok":true}"#.utf8))

    @Test func rendersEveryPlaceholderKind() throws {
        let template = try PartitionKeyTemplate("{host}/{file.name}:{json.device.id}-{json.device.rack}-{json.ok}|{file.path}")
        let key = template.render(.init(host: "edge-1", filePath: "/var/log/app/a.log", json: json))
        #expect(key == .success("edge-1/a.log:d-7-3-true|/var/log/app/a.log"))
    }

    @Test func refusesUnknownPlaceholdersAndBadBraces() {
        #expect(#expect(throws: TemplateError.self) { try PartitionKeyTemplate("{hostname}") }?.code == .unknownPlaceholder)
        #expect(#expect(throws: TemplateError.self) { try PartitionKeyTemplate("{host") }?.code == .unbalancedBrace)
        #expect(#expect(throws: TemplateError.self) { try PartitionKeyTemplate("host}") }?.code == .unbalancedBrace)
        #expect(#expect(throws: TemplateError.self) { try PartitionKeyTemplate("") }?.code == .empty)
        #expect((try? PartitionKeyTemplate("{device}", allowedCaptures: ["device"])) != nil)
    }

    @Test func missingValueUsesTheFallbackAndIsCounted() throws {
        let mapper = PartitionKeyMapper(template: try PartitionKeyTemplate("{json.user}"), fallback: "nobody")
        let result = mapper.key(for: .init(host: "h", json: json))
        #expect(result.key == "nobody")
        #expect(result.missing == "json.user")
        #expect(mapper.fallbackCount == 1)
    }

    @Test func bucketsSpreadOneKeyOverN() throws {
        let mapper = PartitionKeyMapper(template: try PartitionKeyTemplate("hot"), buckets: 4)
        let keys = (0..<8).map { _ in mapper.key(for: .init(host: "h")).key }
        #expect(keys == ["hot#0", "hot#1", "hot#2", "hot#3", "hot#0", "hot#1", "hot#2", "hot#3"])
    }

    @Test func longKeysAreCutToKinesisLimit() throws {
        let mapper = PartitionKeyMapper(template: try PartitionKeyTemplate(String(repeating: "k", count: 300)))
        #expect(mapper.key(for: .init(host: "h")).key.count == 256)
    }
}
