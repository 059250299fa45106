import SluiceGateway
import SluiceStorage

/// `[limits]`: the gateway's per-shard meter and the spool.
struct LimitsConfig: Equatable {
    var bytesPerSecond = 1 << 20
    var recordsPerSecond = 1_000
    var spoolMaxBytes: Int64 = 1 << 30
    var onFull = SpoolFullPolicy.block
    var hotKeyPercent = 50

    static func parse(_ section: TOMLSection) throws -> LimitsConfig {
        var limits = LimitsConfig()
        limits.bytesPerSecond = try section.int("bytes_per_second", range: 1...(1 << 34)) ?? limits.bytesPerSecond
        limits.recordsPerSecond = try section.int("records_per_second", range: 1...10_000_000) ?? limits.recordsPerSecond
        if let bytes = try section.int("spool_max_bytes", range: (1 << 20)...(1 << 50)) { limits.spoolMaxBytes = Int64(bytes) }
        if let policy = try section.choice("on_full", SpoolFullPolicy.allCases.map(\.rawValue)) { limits.onFull = SpoolFullPolicy(rawValue: policy)! }
        limits.hotKeyPercent = try section.int("hot_key_percent", range: 1...100) ?? limits.hotKeyPercent
        try section.rejectUnknownKeys()
        return limits
    }

    var gatewaySettings: Gateway.Settings {
        var settings = Gateway.Settings()
        settings.rates = .init(bytesPerSecond: bytesPerSecond, recordsPerSecond: recordsPerSecond)
        settings.spoolMaxBytes = spoolMaxBytes
        settings.onFull = onFull
        settings.hotKeySharePercent = Double(hotKeyPercent)
        return settings
    }
}

/// One `[[sources.file]]` entry as written; `settings(host:)` builds the source's settings.
struct FileSourceConfig: Equatable {
    var name: String
    var stream: String
    var paths: [String]
    var exclude = FileSourceSettings.defaultExclude
    var partitionKey = "{file.path}"
    var partitionKeyBuckets = 1
    var partitionKeyFallback = "unknown"
    var parser = "raw"
    var csvColumns: [String] = []
    var csvDelimiter: UInt8 = UInt8(ascii: ",")
    var startAtEnd = false
    var multilineStart: String?
    var multilineFlushMillis = 1000
    var maxRecordBytes = 1_048_576 - 256
    var truncationMarker = "...[truncated]"
    var addMetadata = false
    var parseErrorStream: String?
    var pollIntervalMillis = 1000
    var rotateWaitMillis = 5000
    var batchRecords = 5000
    /// Where the entry is in the file, for messages.
    var location: String

    static func parse(_ section: TOMLSection, file: String) throws -> FileSourceConfig {
        func problem(_ text: String) -> ConfigError { ConfigError("\(file): \(section.path) \(text)") }
        guard let stream = try section.string("stream") else { throw problem("stream: required (the stream records go to)") }
        guard let paths = try section.strings("paths", nonEmpty: true) else { throw problem("paths: required, e.g. [\"/var/log/app/*.log\"]") }
        for path in paths where !path.hasPrefix("/") {
            throw problem("paths: \"\(path)\" is relative; use an absolute path")
        }
        var config = FileSourceConfig(
            name: "file-" + String(CRC32C.checksum(Array((stream + "\n" + paths.joined(separator: "\n")).utf8)), radix: 16),
            stream: stream, paths: paths, location: "\(file): \(section.path)"
        )
        config.exclude = try section.strings("exclude") ?? config.exclude
        if let name = try section.string("name") {
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !name.hasPrefix(".") else {
                throw problem("name: \"\(name)\" may use letters, digits, '-', '_' and '.' only (it names the checkpoint file)")
            }
            config.name = name
        }
        config.partitionKey = try section.string("partition_key") ?? config.partitionKey
        config.partitionKeyBuckets = try section.int("partition_key_buckets", range: 1...10_000) ?? 1
        config.partitionKeyFallback = try section.string("partition_key_fallback") ?? config.partitionKeyFallback
        guard (1...256).contains(config.partitionKeyFallback.count) else { throw problem("partition_key_fallback: must be 1 to 256 characters") }
        config.parser = try section.choice("parser", LineParser.names) ?? "raw"
        config.csvColumns = try section.strings("csv_columns") ?? []
        if config.parser == "csv" && config.csvColumns.isEmpty { throw problem("csv_columns: required with parser = \"csv\", e.g. [\"time\", \"level\", \"message\"]") }
        if let delimiter = try section.string("csv_delimiter") {
            guard delimiter.utf8.count == 1 else { throw problem("csv_delimiter: must be one ASCII character") }
            config.csvDelimiter = delimiter.utf8.first!
        }
        config.startAtEnd = (try section.choice("start_at", ["beginning", "end"]) ?? "beginning") == "end"
        config.multilineStart = try section.string("multiline_start")
        config.multilineFlushMillis = try section.int("multiline_flush_ms", range: 10...600_000) ?? config.multilineFlushMillis
        config.maxRecordBytes = try section.int("max_record_bytes", range: 64...(1_048_576 - 256)) ?? config.maxRecordBytes
        config.truncationMarker = try section.string("truncation_marker") ?? config.truncationMarker
        config.addMetadata = try section.bool("add_metadata") ?? false
        config.parseErrorStream = try section.string("parse_error_stream")
        config.pollIntervalMillis = try section.int("poll_interval_ms", range: 10...600_000) ?? config.pollIntervalMillis
        config.rotateWaitMillis = try section.int("rotate_wait_ms", range: 0...3_600_000) ?? config.rotateWaitMillis
        config.batchRecords = try section.int("batch_records", range: 1...100_000) ?? config.batchRecords
        try section.rejectUnknownKeys()
        _ = try config.settings(host: "check")
        return config
    }

    /// - Throws: `ConfigError` for a bad template or multi-line pattern.
    func settings(host: String) throws -> FileSourceSettings {
        let template: PartitionKeyTemplate
        do { template = try PartitionKeyTemplate(partitionKey) } catch {
            throw ConfigError("\(location) partition_key: \(error)")
        }
        if let pattern = multilineStart {
            do { _ = try Regex(pattern) } catch {
                throw ConfigError("\(location) multiline_start: \"\(pattern)\" is not a valid regular expression (\(error))")
            }
        }
        let lineParser: LineParser = switch parser {
        case "json": .json
        case "syslog": .syslog
        case "apache_common": .apacheCommon
        case "apache_combined": .apacheCombined
        case "csv": .csv(columns: csvColumns, delimiter: csvDelimiter)
        default: .raw
        }
        let marker = Array(truncationMarker.utf8)
        var settings = FileSourceSettings(
            name: name, stream: stream, paths: paths,
            builder: RecordBuilder(
                parser: lineParser,
                mapper: PartitionKeyMapper(template: template, buckets: partitionKeyBuckets, fallback: partitionKeyFallback),
                addMetadata: addMetadata, host: host, maxRecordBytes: 1_048_576, marker: marker
            )
        )
        settings.exclude = exclude
        settings.startAtEnd = startAtEnd
        settings.multilineStart = multilineStart
        settings.multilineFlush = .milliseconds(multilineFlushMillis)
        settings.maxRecordBytes = maxRecordBytes
        settings.truncationMarker = marker
        settings.parseErrorStream = parseErrorStream
        settings.pollInterval = .milliseconds(pollIntervalMillis)
        settings.rotateWait = .milliseconds(rotateWaitMillis)
        settings.batchRecords = batchRecords
        return settings
    }
}
