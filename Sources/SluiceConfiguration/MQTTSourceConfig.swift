import FoundationEssentials
import Logging
import SluiceGateway
import SluiceMQTT
import SluiceStorage

/// One `[[sources.mqtt]]` entry as written; `settings(host:logger:)` builds the source's
/// settings (reading the password file).
package struct MQTTSourceConfig: Equatable {
    package var record: RecordConfig
    package var broker: BrokerAddress
    /// nil: `sluice-HOST-NAME`, fixed per box and source so the session survives restarts.
    package var clientId: String?
    package var topics: [String]
    package var qos = 1
    package var protocolVersion = 5
    package var cleanSession = false
    package var sessionExpirySeconds = UInt32.max
    package var username: String?
    package var password: String?
    package var passwordFile: String?
    package var tls: MQTTSourceSettings.TLS?
    package var keepaliveSeconds = 60
    package var reconnectMinMillis = 500
    package var reconnectMaxMillis = 30_000
    package var maxInFlightMessages = 5_000
    package var maxInFlightBytes = 8 << 20
    package var onOversize = MQTTSourceSettings.Oversize.truncate

    package static func parse(_ section: TOMLSection, file: String) throws -> MQTTSourceConfig {
        func problem(_ text: String, code: ConfigError.Code = .invalidValue) -> ConfigError { ConfigError("\(file): \(section.path) \(text)", code: code) }
        guard let brokerText = try section.string("broker") else { throw problem("broker: required, e.g. \"mqtt://127.0.0.1:1883\"", code: .missingKey) }
        let broker: BrokerAddress
        do { broker = try BrokerAddress(parsing: brokerText) } catch { throw problem("\(error)") }
        guard let topics = try section.strings("topics", nonEmpty: true) else { throw problem("topics: required, e.g. [\"devices/{device}/telemetry\"]", code: .missingKey) }
        var captures: Set<String> = []
        for topic in topics {
            do { captures.formUnion(try TopicFilter(topic).captureNames) } catch { throw problem("topics: \(error)") }
        }
        let record = try RecordConfig.parse(
            section, file: file, kind: "mqtt", identity: brokerText + "\n" + topics.joined(separator: "\n"), defaultKey: "{topic}"
        )
        var config = MQTTSourceConfig(record: record, broker: broker, topics: topics)
        config.clientId = try section.string("client_id")
        if let id = config.clientId, id.isEmpty || id.utf8.count > 65_535 { throw problem("client_id: must not be empty (a persistent session needs a fixed client id)") }
        config.qos = try section.int("qos", range: 0...2) ?? config.qos
        config.protocolVersion = try section.int("protocol_version", range: 4...5) ?? config.protocolVersion
        config.cleanSession = try section.bool("clean_session") ?? false
        if let expiry = try section.int("session_expiry_seconds", range: 0...Int(UInt32.max)) { config.sessionExpirySeconds = UInt32(expiry) }
        config.username = try section.string("username")
        config.password = try section.string("password")
        config.passwordFile = try section.string("password_file")
        if config.password != nil && config.passwordFile != nil { throw problem("password and password_file: give one of them (password_file keeps the secret out of the config)", code: .conflict) }
        if (config.password != nil || config.passwordFile != nil) && config.username == nil { throw problem("username: required with a password", code: .missingKey) }
        let caFile = try section.string("ca_file")
        let certFile = try section.string("cert_file")
        let keyFile = try section.string("key_file")
        let insecure = try section.bool("tls_insecure") ?? false
        if (certFile == nil) != (keyFile == nil) { throw problem("cert_file and key_file: give both (the client certificate and its key) or neither", code: .conflict) }
        if broker.tls {
            config.tls = .init(caFile: caFile, certFile: certFile, keyFile: keyFile, insecure: insecure)
        } else if caFile != nil || certFile != nil || insecure {
            throw problem("ca_file, cert_file, key_file and tls_insecure need a TLS broker: write broker = \"mqtts://\(broker.host):8883\"")
        }
        config.keepaliveSeconds = try section.int("keepalive_seconds", range: 5...65_535) ?? config.keepaliveSeconds
        config.reconnectMinMillis = try section.int("reconnect_min_ms", range: 10...600_000) ?? config.reconnectMinMillis
        config.reconnectMaxMillis = try section.int("reconnect_max_ms", range: config.reconnectMinMillis...3_600_000) ?? max(config.reconnectMinMillis, config.reconnectMaxMillis)
        config.maxInFlightMessages = try section.int("max_in_flight_messages", range: 1...65_535) ?? config.maxInFlightMessages
        config.maxInFlightBytes = try section.int("max_in_flight_bytes", range: (64 << 10)...(1 << 30)) ?? config.maxInFlightBytes
        if let policy = try section.choice("on_oversize", MQTTSourceSettings.Oversize.allCases.map(\.rawValue)) {
            config.onOversize = MQTTSourceSettings.Oversize(rawValue: policy)!
        }
        try section.rejectUnknownKeys()
        let template = try record.template(captures: captures)
        if template.usesJSON && record.parser != "json" {
            throw problem("partition_key: \"\(record.partitionKey)\" reads a JSON field but parser is \"\(record.parser)\"; set parser = \"json\"")
        }
        return config
    }

    package func resolvedClientId(host: String) -> String {
        clientId ?? "sluice-\(host)-\(record.name)"
    }

    /// - Parameter stateDirectory: where the source remembers its subscriptions.
    /// - Throws: `ConfigError` for an unreadable password file or device map.
    package func settings(host: String, stateDirectory: String? = nil, logger: Logger) throws -> MQTTSourceSettings {
        let filters = try topics.map { try TopicFilter($0) }
        var settings = MQTTSourceSettings(
            name: record.name, stream: record.stream, broker: broker, clientId: resolvedClientId(host: host), topics: filters,
            builder: try record.builder(host: host, captures: MQTTSourceSettings.captureNames(of: filters), logger: logger)
        )
        settings.qos = Int32(qos)
        settings.protocolVersion = Int32(protocolVersion)
        settings.cleanSession = cleanSession
        settings.sessionExpirySeconds = sessionExpirySeconds
        settings.username = username
        settings.password = password
        if let passwordFile {
            guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                throw ConfigError("\(record.location) password_file: \"\(passwordFile)\" cannot be read; check the path and that the sluice user may read it", code: .unreadableFile)
            }
            settings.password = String(text.trimmingLineBreaks())
        }
        settings.tls = tls
        settings.keepaliveSeconds = Int32(keepaliveSeconds)
        settings.reconnectMin = .milliseconds(reconnectMinMillis)
        settings.reconnectMax = .milliseconds(reconnectMaxMillis)
        settings.maxInFlightMessages = maxInFlightMessages
        settings.maxInFlightBytes = maxInFlightBytes
        settings.onOversize = onOversize
        settings.parseErrorStream = record.parseErrorStream
        settings.stateDirectory = stateDirectory
        return settings
    }
}
