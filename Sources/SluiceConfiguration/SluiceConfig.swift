import SluiceEngine
import SluiceFunctions
import SluiceStorage
import TOMLKit

/// The daemon's configuration (config/sluice.toml documents every key).
package struct SluiceConfig {
    package struct Stream: Equatable {
        package var name: String
        package var shards: Int?
        package var retentionHours: Int
        package var onDemand: Bool
        /// `max_bytes` and `on_full`: the stream's size bound on disk (nil: none).
        package var bound: StorageBound?
    }

    package var dataDirectory = "/var/lib/sluice"
    package var listenHost = "127.0.0.1"
    package var listenPort = 4567
    /// How long one SubscribeToShard lasts (Kinesis: 5 minutes).
    package var subscriptionSeconds = 300
    package var logLevel = "info"
    package var engine = EngineOptions()
    package var retentionCheckSeconds = 60
    package var syncIntervalMillis = 1000
    package var onDemandCheckSeconds = 10
    package var streams: [Stream] = []
    /// The key file, as configured (resolved against $CREDENTIALS_DIRECTORY when relative).
    package var keyFile: String?
    /// Whether every stream is kept encrypted (StartStreamEncryption at start).
    package var encryptAll = true
    package var limits = LimitsConfig()
    package var fileSources: [FileSourceConfig] = []
    package var mqttSources: [MQTTSourceConfig] = []
    package var auth: AuthConfig?
    package var sink = SinkConfig()
    package var exports: [ExportConfig] = []
    package var functions: [FunctionConfig] = []
    /// What the start logs as warnings (a translated `[sink]`).
    package var warnings: [String] = []
    /// Listening beyond loopback without `[auth]` only when this says so.
    package var allowUnauthenticated = false
    /// HTTPS on the API listener: PEM certificate chain and private key.
    package var tlsCertFile: String?
    package var tlsKeyFile: String?
    /// Connections the API keeps open at once; beyond it a new one is answered 503.
    package var maxConnections = 1024
    /// A connection that sends no whole request for this long is closed.
    package var idleTimeoutSeconds = 60

    /// Every source's record settings, file sources first.
    package var sourceRecords: [RecordConfig] { fileSources.map(\.record) + mqttSources.map(\.record) }

    /// Parses a config file.
    /// - Throws: `ConfigError` naming the file, the key and what is wrong with it.
    package static func load(path: String) throws -> SluiceConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError("\(path): cannot read the config file (\(error)); pass an existing file with --config", code: .unreadableFile)
        }
        return try parse(text, file: path)
    }

    package static func parse(_ text: String, file: String) throws -> SluiceConfig {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError("\(file):\(error.source.begin.line):\(error.source.begin.column): not valid TOML: \(error.description)", code: .notTOML)
        }
        var config = SluiceConfig()
        let top = TOMLSection(table, path: "", file: file)
        if let dir = try top.string("data_dir") {
            guard dir.hasPrefix("/") || dir.hasPrefix(".") else {
                throw ConfigError("\(file): data_dir: use an absolute path (got \"\(dir)\")")
            }
            config.dataDirectory = dir
        }
        config.logLevel = try top.choice("log_level", ["trace", "debug", "info", "notice", "warning", "error", "critical"]) ?? "info"
        if let api = try top.section("api") {
            if let listen = try api.string("listen") {
                (config.listenHost, config.listenPort) = try parseListen(listen, file: file)
            }
            config.subscriptionSeconds = try api.int("subscription_seconds", range: 1...3600) ?? config.subscriptionSeconds
            config.allowUnauthenticated = try api.bool("allow_unauthenticated") ?? false
            config.tlsCertFile = try api.string("tls_cert_file")
            config.tlsKeyFile = try api.string("tls_key_file")
            config.maxConnections = try api.int("max_connections", range: 16...1_000_000) ?? config.maxConnections
            config.idleTimeoutSeconds = try api.int("idle_timeout_seconds", range: 1...3600) ?? config.idleTimeoutSeconds
            if (config.tlsCertFile == nil) != (config.tlsKeyFile == nil) {
                throw ConfigError("\(file): [api] tls_cert_file and tls_key_file: give both (certificate chain and private key, PEM) or neither", code: .conflict)
            }
            try api.rejectUnknownKeys()
        }
        if let auth = try top.section("auth") { config.auth = try AuthConfig.parse(auth, file: file) }
        if config.auth == nil, !config.allowUnauthenticated, !SluiceConfig.isLoopback(config.listenHost) {
            throw ConfigError("\(file): [api] listen: \"\(config.listenHost)\" is reachable beyond this machine and the API has no access control; add [auth] (README, \"Access control\"), listen on 127.0.0.1, or set [api] allow_unauthenticated = true if a firewall guards it")
        }
        if let storage = try top.section("storage") {
            switch try storage.choice("fsync", ["always", "interval"]) {
            case "interval": config.engine.log.sync = .periodic
            default: config.engine.log.sync = .always
            }
            config.syncIntervalMillis = try storage.int("fsync_interval_ms", range: 1...60_000) ?? config.syncIntervalMillis
            if let bytes = try storage.int("segment_max_bytes", range: (1 << 20)...(1 << 34)) { config.engine.log.segmentMaxBytes = Int64(bytes) }
            if let age = try storage.int("segment_max_age_seconds", range: 1...(86_400 * 365)) { config.engine.log.segmentMaxAgeMillis = Int64(age) * 1000 }
            config.retentionCheckSeconds = try storage.int("retention_check_seconds", range: 1...86_400) ?? config.retentionCheckSeconds
            try storage.rejectUnknownKeys()
        }
        if let engine = try top.section("engine") {
            config.engine.enforceWriteLimits = try engine.bool("enforce_write_limits") ?? true
            config.engine.shardWriteBytesPerSecond = try engine.int("shard_write_bytes_per_second", range: 1...(1 << 34)) ?? config.engine.shardWriteBytesPerSecond
            config.engine.shardWriteRecordsPerSecond = try engine.int("shard_write_records_per_second", range: 1...10_000_000) ?? config.engine.shardWriteRecordsPerSecond
            config.engine.enforceReadLimits = try engine.bool("enforce_read_limits") ?? true
            config.engine.shardReadCallsPerSecond = try engine.int("shard_read_calls_per_second", range: 1...100_000) ?? config.engine.shardReadCallsPerSecond
            config.engine.shardReadBytesPerSecond = try engine.int("shard_read_bytes_per_second", range: 1...(1 << 34)) ?? config.engine.shardReadBytesPerSecond
            config.engine.shardLimit = try engine.int("shard_limit", range: 1...100_000) ?? config.engine.shardLimit
            config.onDemandCheckSeconds = try engine.int("on_demand_check_seconds", range: 1...3600) ?? config.onDemandCheckSeconds
            if let share = try engine.int("on_demand_split_percent", range: 10...100) { config.engine.onDemandSplitShare = Double(share) / 100 }
            if let quiet = try engine.int("on_demand_merge_quiet_seconds", range: 1...86_400) { config.engine.onDemandQuietMillis = Int64(quiet) * 1000 }
            config.engine.region = try engine.string("region") ?? config.engine.region
            config.engine.accountId = try engine.string("account_id") ?? config.engine.accountId
            try engine.rejectUnknownKeys()
        }
        if let encryption = try top.section("encryption") {
            guard let keyFile = try encryption.string("key_file") else {
                throw ConfigError("\(file): [encryption] key_file is required (remove the section to run without encryption)", code: .missingKey)
            }
            config.keyFile = keyFile
            config.encryptAll = try encryption.bool("encrypt_all_streams") ?? true
            try encryption.rejectUnknownKeys()
        }
        for stream in try top.sections("streams") {
            guard let name = try stream.string("name") else {
                throw ConfigError("\(file): \(stream.path): name is required", code: .missingKey)
            }
            let mode = try stream.choice("mode", ["provisioned", "on_demand"]) ?? "provisioned"
            let shards = try stream.int("shards", range: 1...10_000)
            if mode == "provisioned" && shards == nil {
                throw ConfigError("\(file): \(stream.path) (\(name)): shards is required for a provisioned stream", code: .missingKey)
            }
            let retention = try stream.int("retention_hours", range: KinesisLimits.minRetentionHours...KinesisLimits.maxRetentionHours)
                ?? KinesisLimits.defaultRetentionHours
            let bound = try parseBound(stream, name: name, file: file, segmentBytes: config.engine.log.segmentMaxBytes)
            try stream.rejectUnknownKeys()
            if config.streams.contains(where: { $0.name == name }) {
                throw ConfigError("\(file): \(stream.path): stream \"\(name)\" is listed twice", code: .conflict)
            }
            config.streams.append(Stream(name: name, shards: shards, retentionHours: retention, onDemand: mode == "on_demand", bound: bound))
        }
        if let limits = try top.section("limits") { config.limits = try LimitsConfig.parse(limits) }
        if let sink = try top.section("sink") { config.sink = try SinkConfig.parse(sink, file: file) }
        if let sources = try top.section("sources") {
            func checkUnique(_ record: RecordConfig, _ entry: TOMLSection) throws {
                if config.sourceRecords.contains(where: { $0.name == record.name }) {
                    throw ConfigError("\(file): \(entry.path): two sources share the name \"\(record.name)\"; give each a distinct name", code: .conflict)
                }
            }
            for entry in try sources.sections("file") {
                let source = try FileSourceConfig.parse(entry, file: file)
                try checkUnique(source.record, entry)
                config.fileSources.append(source)
            }
            for entry in try sources.sections("mqtt") {
                let source = try MQTTSourceConfig.parse(entry, file: file)
                try checkUnique(source.record, entry)
                if let id = source.clientId, config.mqttSources.contains(where: { $0.clientId == id && $0.broker == source.broker }) {
                    throw ConfigError("\(file): \(entry.path) client_id: \"\(id)\" is used by another source on the same broker; the broker would disconnect one for the other", code: .conflict)
                }
                config.mqttSources.append(source)
            }
            try sources.rejectUnknownKeys(hint: "sources are [[sources.file]] and [[sources.mqtt]]")
        }
        for entry in try top.sections("exports") {
            let export = try ExportConfig.parse(entry, file: file)
            if config.exports.contains(where: { $0.name == export.name }) {
                throw ConfigError("\(export.location): two exports share the name \"\(export.name)\"; give each a distinct name", code: .conflict)
            }
            config.exports.append(export)
        }
        for entry in try top.sections("functions") {
            let function = try FunctionConfig.parse(entry, file: file)
            if config.functions.contains(where: { $0.settings.name == function.settings.name }) {
                throw ConfigError("\(function.location): two functions share the name \"\(function.settings.name)\"; give each a distinct name", code: .conflict)
            }
            config.functions.append(function)
        }
        try config.translateSink(file: file)
        for function in config.functions {
            if let name = function.onFailureExport, !config.exports.contains(where: { $0.name == name }) {
                throw ConfigError("\(function.location) on_failure: no [[exports]] entry is named \"\(name)\"")
            }
        }
        try top.rejectUnknownKeys(hint: "known keys are data_dir, log_level, [api], [auth], [storage], [engine], [encryption], [limits], [[streams]], [[sources.file]], [[sources.mqtt]], [[exports]], [[functions]]")
        return config
    }

    /// `max_bytes` and `on_full` of one `[[streams]]` entry.
    private static func parseBound(_ stream: TOMLSection, name: String, file: String, segmentBytes: Int64) throws -> StorageBound? {
        let onFull = try stream.choice("on_full", StorageBound.OnFull.allCases.map(\.rawValue))
        guard let maxBytes = try stream.int("max_bytes", range: 1...Int.max) else {
            if onFull != nil { throw ConfigError("\(file): \(stream.path) (\(name)) on_full: applies with max_bytes only; set max_bytes too") }
            return nil
        }
        // A bound is kept by deleting whole segments: it needs several of them to be exact.
        guard Int64(maxBytes) >= 4 * segmentBytes else {
            throw ConfigError("\(file): \(stream.path) (\(name)) max_bytes: \(maxBytes) is less than 4 segments of [storage] segment_max_bytes (\(segmentBytes)); raise max_bytes or lower segment_max_bytes (it is kept by whole segments)")
        }
        return StorageBound(maxBytes: Int64(maxBytes), onFull: StorageBound.OnFull(rawValue: onFull ?? "reject")!)
    }

    /// `[sink] kind = "kinesis"` (before exports) becomes `[[exports]]`, with a warning that
    /// shows them (`SinkConfig.translated`).
    private mutating func translateSink(file: String) throws {
        var sourceStreams: [String] = []
        for record in sourceRecords {
            for stream in record.streams where !sourceStreams.contains(stream) {
                sourceStreams.append(stream)
            }
        }
        let translation = sink.translated(sourceStreams: sourceStreams, declared: Set(streams.map(\.name)), file: file)
        guard !translation.exports.isEmpty else { return }
        for export in translation.exports where exports.contains(where: { $0.name == export.name }) {
            throw ConfigError("\(file): [sink] would export stream \(export.stream) as \"\(export.name)\", and [[exports]] has that name; remove [sink] (see the README, \"Exports\")", code: .conflict)
        }
        exports += translation.exports
        streams += translation.streams
        warnings.append("\(file): [sink] kind = \"kinesis\" is replaced by [[exports]]: records are now stored in the local stream first, then exported. It runs as this config; write it instead of [sink]:\n\(translation.advice)")
    }

    /// 127.0.0.0/8, ::1 and localhost.
    package static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The key file's path: as configured when absolute; under systemd's credentials
    /// directory (`LoadCredential=`) when relative and $CREDENTIALS_DIRECTORY is set.
    package func resolvedKeyFile(environment: [String: String]) -> String? {
        guard let keyFile else { return nil }
        if !keyFile.hasPrefix("/"), let credentials = environment["CREDENTIALS_DIRECTORY"] {
            return credentials + "/" + keyFile
        }
        return keyFile
    }

    /// `HOST:PORT`, `[IPv6]:PORT`.
    package static func parseListen(_ text: String, file: String) throws -> (String, Int) {
        let problem = ConfigError("\(file): [api] listen: expected \"HOST:PORT\" such as \"127.0.0.1:4567\" or \"[::1]:4567\", got \"\(text)\"")
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw problem
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw problem }
        return (host, port)
    }
}

import FoundationEssentials
