import SluiceStorage
import Testing
@testable import SluiceMQTT

@Suite struct TopicFilterTests {
    @Test func capturesBecomePlusWildcardsInTheSubscription() throws {
        let filter = try TopicFilter("devices/{device}/telemetry")
        #expect(filter.subscription == "devices/+/telemetry")
        #expect(filter.captureNames == ["device"])
        #expect(filter.match("devices/dev-7/telemetry") == ["device": "dev-7"])
        #expect(filter.match("devices/dev-7/status") == nil)
        #expect(filter.match("devices/dev-7/telemetry/extra") == nil)
        #expect(filter.match("devices//telemetry") == ["device": ""])
    }

    @Test func plusAndHashMatchAsInMQTT() throws {
        let filter = try TopicFilter("plant/{site}/+/#")
        #expect(filter.subscription == "plant/+/+/#")
        #expect(filter.match("plant/berlin/line1") == ["site": "berlin"])
        #expect(filter.match("plant/berlin/line1/press/temp") == ["site": "berlin"])
        #expect(filter.match("plant/berlin") == nil)
        #expect(try TopicFilter("#").match("a/b/c") == [:])
        #expect(try TopicFilter("a/#").match("a") == [:])
    }

    @Test func wildcardsAtTheFirstLevelSkipDollarTopics() throws {
        #expect(try TopicFilter("#").match("$SYS/broker/uptime") == nil)
        #expect(try TopicFilter("+/uptime").match("$SYS/uptime") == nil)
        #expect(try TopicFilter("$SYS/#").match("$SYS/broker/uptime") == [:])
    }

    @Test func refusesMalformedFiltersWithTheReason() {
        let cases: [(String, String, TopicFilterError.Code)] = [
            ("a/#/b", "'#' must be the last level", .misplacedWildcard),
            ("a/dev+/b", "takes a whole level", .mixedLevel),
            ("a/{x}/{x}", "appears twice", .repeatedCapture),
            ("a/{topic}", "not one of", .badCapture),
            ("a/{bad name}", "letters, digits", .badCapture),
            ("", "empty", .empty),
            (String(repeating: "a", count: 70_000), "longer than MQTT's 65,535 bytes", .tooLong),
        ]
        for (text, reason, code) in cases {
            #expect("\(error(text))".contains(reason), "\(text.prefix(20))")
            #expect((#expect(throws: TopicFilterError.self) { try TopicFilter(text) })?.code == code, "\(text.prefix(20))")
        }
    }

    private func error(_ text: String) -> String {
        do {
            _ = try TopicFilter(text)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }
}

@Suite struct BrokerAddressTests {
    @Test func parsesSchemesPortsAndIPv6() throws {
        #expect(try BrokerAddress(parsing: "mqtt://127.0.0.1") == BrokerAddress(host: "127.0.0.1", port: 1883, tls: false))
        #expect(try BrokerAddress(parsing: "mqtts://broker.local") == BrokerAddress(host: "broker.local", port: 8883, tls: true))
        #expect(try BrokerAddress(parsing: "mqtt://[::1]:1884/") == BrokerAddress(host: "::1", port: 1884, tls: false))
        #expect(try BrokerAddress(parsing: "tcp://h:1") == BrokerAddress(host: "h", port: 1, tls: false))
        #expect(try BrokerAddress(parsing: "mqtt://[::1]:1884").description == "mqtt://[::1]:1884")
    }

    @Test func refusesWhatIsNotABrokerURL() {
        for text in ["127.0.0.1:1883", "http://h", "mqtt://", "mqtt://h:0", "mqtt://h:x", "mqtt://user@h", "mqtt://[::1"] {
            let error = #expect(throws: BrokerAddressError.self, "\(text)") { try BrokerAddress(parsing: text) }
            #expect(error?.code == (["mqtt://h:0", "mqtt://h:x"].contains(text) ? .badPort : .malformed), "\(text)")
        }
    }
}
