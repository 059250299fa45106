import Logging
import SluiceGateway

/// One `[[sources.file]]` entry as written; `settings(host:)` builds the source's settings.
package struct FileSourceConfig: Equatable {
    package var record: RecordConfig
    package var paths: [String]
    package var exclude = FileSourceSettings.defaultExclude
    package var startAtEnd = false
    package var multilineStart: String?
    package var multilineFlushMillis = 1000
    package var maxRecordBytes = 1_048_576 - 256
    package var pollIntervalMillis = 1000
    package var rotateWaitMillis = 5000
    package var batchRecords = 5000

    package static func parse(_ section: TOMLSection, file: String) throws -> FileSourceConfig {
        func problem(_ text: String, code: ConfigError.Code = .invalidValue) -> ConfigError { ConfigError("\(file): \(section.path) \(text)", code: code) }
        guard let paths = try section.strings("paths", nonEmpty: true) else { throw problem("paths: required, e.g. [\"/var/log/app/*.log\"]", code: .missingKey) }
        for path in paths where !path.hasPrefix("/") {
            throw problem("paths: \"\(path)\" is relative; use an absolute path")
        }
        let record = try RecordConfig.parse(section, file: file, kind: "file", identity: paths.joined(separator: "\n"), defaultKey: "{file.path}")
        var config = FileSourceConfig(record: record, paths: paths)
        config.exclude = try section.strings("exclude") ?? config.exclude
        config.startAtEnd = (try section.choice("start_at", ["beginning", "end"]) ?? "beginning") == "end"
        config.multilineStart = try section.string("multiline_start")
        config.multilineFlushMillis = try section.int("multiline_flush_ms", range: 10...600_000) ?? config.multilineFlushMillis
        config.maxRecordBytes = try section.int("max_record_bytes", range: 64...(1_048_576 - 256)) ?? config.maxRecordBytes
        config.pollIntervalMillis = try section.int("poll_interval_ms", range: 10...600_000) ?? config.pollIntervalMillis
        config.rotateWaitMillis = try section.int("rotate_wait_ms", range: 0...3_600_000) ?? config.rotateWaitMillis
        config.batchRecords = try section.int("batch_records", range: 1...100_000) ?? config.batchRecords
        try section.rejectUnknownKeys()
        _ = try record.template()
        if let pattern = config.multilineStart {
            do { _ = try Regex(pattern) } catch {
                throw problem("multiline_start: \"\(pattern)\" is not a valid regular expression (\(error))")
            }
        }
        return config
    }

    /// - Throws: `ConfigError` for a bad template or device map.
    package func settings(host: String, logger: Logger) throws -> FileSourceSettings {
        var settings = FileSourceSettings(
            name: record.name, stream: record.stream, paths: paths, builder: try record.builder(host: host, logger: logger)
        )
        settings.exclude = exclude
        settings.startAtEnd = startAtEnd
        settings.multilineStart = multilineStart
        settings.multilineFlush = .milliseconds(multilineFlushMillis)
        settings.maxRecordBytes = maxRecordBytes
        settings.truncationMarker = Array(record.truncationMarker.utf8)
        settings.parseErrorStream = record.parseErrorStream
        settings.pollInterval = .milliseconds(pollIntervalMillis)
        settings.rotateWait = .milliseconds(rotateWaitMillis)
        settings.batchRecords = batchRecords
        return settings
    }
}
