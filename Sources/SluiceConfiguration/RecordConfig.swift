import Logging
import SluiceGateway
import SluiceStorage

/// The keys every source shares: how its records are named, parsed and keyed.
package struct RecordConfig: Equatable {
    /// Names checkpoints, metrics and status; stable across config reorders when given.
    package var name: String
    package var stream: String
    package var partitionKey: String
    package var partitionKeyBuckets = 1
    package var partitionKeyFallback = "unknown"
    package var deviceMapFile: String?
    package var parser = "raw"
    package var csvColumns: [String] = []
    package var csvDelimiter: UInt8 = UInt8(ascii: ",")
    package var truncationMarker = "...[truncated]"
    package var addMetadata = false
    package var parseErrorStream: String?
    /// Where the entry is in the file, for messages.
    package var location: String

    /// - Parameters:
    ///   - kind: `file` or `mqtt`: the default name is `KIND-<crc of identity>`.
    ///   - identity: what makes an unnamed entry distinct (its stream and inputs).
    ///   - defaultKey: the partition key template when none is given.
    package static func parse(_ section: TOMLSection, file: String, kind: String, identity: String, defaultKey: String) throws -> RecordConfig {
        func problem(_ text: String, code: ConfigError.Code = .invalidValue) -> ConfigError { ConfigError("\(file): \(section.path) \(text)", code: code) }
        guard let stream = try section.string("stream") else { throw problem("stream: required (the stream records go to)", code: .missingKey) }
        var config = RecordConfig(
            name: kind + "-" + String(CRC32C.checksum(Array((stream + "\n" + identity).utf8)), radix: 16),
            stream: stream, partitionKey: defaultKey, location: "\(file): \(section.path)"
        )
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
        config.deviceMapFile = try section.string("device_map_file")
        if let path = config.deviceMapFile, !path.hasPrefix("/") { throw problem("device_map_file: \"\(path)\" is relative; use an absolute path") }
        config.parser = try section.choice("parser", LineParser.names) ?? "raw"
        config.csvColumns = try section.strings("csv_columns") ?? []
        if config.parser == "csv" && config.csvColumns.isEmpty { throw problem("csv_columns: required with parser = \"csv\", e.g. [\"time\", \"level\", \"message\"]", code: .missingKey) }
        if let delimiter = try section.string("csv_delimiter") {
            guard delimiter.utf8.count == 1 else { throw problem("csv_delimiter: must be one ASCII character") }
            config.csvDelimiter = delimiter.utf8.first!
        }
        config.truncationMarker = try section.string("truncation_marker") ?? config.truncationMarker
        config.addMetadata = try section.bool("add_metadata") ?? false
        config.parseErrorStream = try section.string("parse_error_stream")
        return config
    }

    /// The template, checked; `captures` are the names the source can fill in.
    package func template(captures: Set<String> = []) throws -> PartitionKeyTemplate {
        do { return try PartitionKeyTemplate(partitionKey, allowedCaptures: captures) } catch {
            throw ConfigError("\(location) partition_key: \(error)")
        }
    }

    /// - Throws: `ConfigError` for a bad template or an unreadable device map.
    package func builder(host: String, captures: Set<String> = [], logger: Logger) throws -> RecordBuilder {
        let template = try template(captures: captures)
        var deviceMap: DeviceKeyMap?
        if let path = deviceMapFile {
            do { deviceMap = try DeviceKeyMap(path: path, logger: logger) } catch {
                throw ConfigError("\(location) device_map_file: \(error)")
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
        return RecordBuilder(
            parser: lineParser,
            mapper: PartitionKeyMapper(template: template, buckets: partitionKeyBuckets, fallback: partitionKeyFallback, deviceMap: deviceMap),
            addMetadata: addMetadata, host: host, maxRecordBytes: 1_048_576, marker: Array(truncationMarker.utf8)
        )
    }

    /// The streams this source writes to.
    package var streams: [String] { [stream] + (parseErrorStream.map { [$0] } ?? []) }
}
