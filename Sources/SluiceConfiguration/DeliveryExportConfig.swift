import Logging
import SluiceExports

/// The keys `[[exports]]` of kinds `files`, `s3` and `http` share: Firehose's buffering,
/// framing, compression, dynamic partitioning, transformation and error output
/// (OBJECTS.md in SluiceExports).
package struct DeliveryExportConfig: Equatable {
    /// Objects (files, s3), or nil for http.
    package var store: ObjectStoreConfig?
    package var http: HTTPEndpointConfig?
    /// An HTTP export's `[exports.backup_store]`: where its error and backup objects go.
    package var backupStore: ObjectStoreConfig?
    package var prefix = ""
    package var errorPrefix = "!{firehose:error-output-type}/"
    package var backupPrefix = "source-records/"
    package var bufferBytes = 5 << 20
    package var bufferSeconds = 300
    package var framing = RecordFraming()
    package var compression = Compression.none
    package var partitionKeys: [String: String] = [:]
    package var maxOpenPartitions = 500
    package var transformCommand: [String]?
    package var transformTimeoutSeconds = 60
    package var transformRetries = 3
    package var backupAll = false

    package static func parse(_ section: TOMLSection, kind: String, location: String) throws -> DeliveryExportConfig {
        var config = DeliveryExportConfig()
        if kind == "http" {
            config.http = try HTTPEndpointConfig.parse(section, location: location)
            config.bufferBytes = try section.int("buffer_bytes", range: (1 << 20)...(64 << 20)) ?? config.bufferBytes
            if let backup = try section.section("backup_store") {
                let backupKind = try backup.choice("kind", ["files", "s3"]) ?? "files"
                config.backupStore = try ObjectStoreConfig.parse(backup, kind: backupKind, location: "\(location) [exports.backup_store]")
                config.compression = Compression(rawValue: try backup.choice("compression", Compression.allCases.map(\.rawValue)) ?? "none")!
                try backup.rejectUnknownKeys(hint: "[exports.backup_store] takes kind, the keys of that kind, and compression")
            }
        } else {
            config.store = try ObjectStoreConfig.parse(section, kind: kind, location: location)
            config.bufferBytes = try section.int("buffer_bytes", range: (1 << 20)...(128 << 20)) ?? config.bufferBytes
            config.prefix = try section.string("prefix") ?? ""
            let format = try section.choice("record_format", RecordFraming.Format.allCases.map(\.rawValue)) ?? "data"
            let delimiter = try section.choice("delimiter", ["none", "newline"])
            if format == RecordFraming.Format.jsonLines.rawValue, delimiter != nil {
                throw ConfigError("\(location) delimiter: json_lines ends every record with a newline already; remove delimiter")
            }
            config.framing = RecordFraming(format: RecordFraming.Format(rawValue: format)!, newline: delimiter == "newline")
            config.compression = Compression(rawValue: try section.choice("compression", Compression.allCases.map(\.rawValue)) ?? "none")!
            config.partitionKeys = try section.stringTable("partition_keys") ?? [:]
            config.maxOpenPartitions = try section.int("max_open_partitions", range: 1...10_000) ?? config.maxOpenPartitions
        }
        config.bufferSeconds = try section.int("buffer_seconds", range: 0...900) ?? config.bufferSeconds
        config.errorPrefix = try section.string("error_prefix") ?? config.errorPrefix
        config.backupPrefix = try section.string("backup_prefix") ?? config.backupPrefix
        config.backupAll = try section.choice("backup", ["failed", "all"]) == "all"
        config.transformCommand = try section.command("transform_command")
        config.transformTimeoutSeconds = try section.int("transform_timeout_seconds", range: 1...900) ?? config.transformTimeoutSeconds
        config.transformRetries = try section.int("transform_retries", range: 0...300) ?? config.transformRetries
        try config.check(location: location)
        return config
    }

    /// The checks that need several keys: prefixes against partition keys, an error output
    /// for what can fail, an absolute transform command.
    private func check(location: String) throws {
        let data = try prefix(prefix, key: "prefix", location: location)
        let errors = try prefix(errorPrefix, key: "error_prefix", location: location)
        _ = try prefix(backupPrefix, key: "backup_prefix", location: location)
        for name in partitionKeys.keys where !(1...64).contains(name.utf8.count) || !name.utf8.allSatisfy({ Self.partitionNameBytes.contains($0) }) {
            throw ConfigError("\(location) partition_keys: \"\(name)\" is not a partition key name (1–64 characters of a-z, A-Z, 0-9, _)")
        }
        do { _ = try Partitioning(queries: partitionKeys, byRecordKey: false) } catch {
            throw ConfigError("\(location) \(error)")
        }
        let used = data.partitionNames.subtracting([Partition.recordKey])
        if let unknown = used.subtracting(partitionKeys.keys).sorted().first {
            throw ConfigError("\(location) prefix: !{partitionKeyFromQuery:\(unknown)} names no key of partition_keys; add \(unknown) = \"json.FIELD\" to partition_keys")
        }
        if let unused = Set(partitionKeys.keys).subtracting(used).sorted().first {
            throw ConfigError("\(location) partition_keys: \(unused) is not used in prefix; add !{partitionKeyFromQuery:\(unused)} to prefix or remove it")
        }
        if !errors.partitionNames.isEmpty {
            throw ConfigError("\(location) error_prefix: failed records have no partition; remove the partition expressions")
        }
        if data.hasErrorOutputType {
            throw ConfigError("\(location) prefix: !{firehose:error-output-type} belongs in error_prefix")
        }
        if errorPrefix == prefix || backupPrefix == prefix || errorPrefix == backupPrefix {
            throw ConfigError("\(location): prefix, error_prefix and backup_prefix must differ, so data, errors and backups stay apart", code: .conflict)
        }
        if let command = transformCommand, !(command.first?.hasPrefix("/") ?? false) {
            throw ConfigError("\(location) transform_command: start with the program's absolute path, e.g. [\"/usr/bin/python3\", \"/etc/sluice/transform.py\"]")
        }
        if http != nil, backupStore == nil, transformCommand != nil || backupAll {
            throw ConfigError("\(location): transform_command and backup = \"all\" need [exports.backup_store] (where failed and backed-up records go)")
        }
    }

    private func prefix(_ template: String, key: String, location: String) throws -> ObjectPrefix {
        do { return try ObjectPrefix(template) } catch {
            throw ConfigError("\(location) \(key): \(error)")
        }
    }

    private static let partitionNameBytes: Set<UInt8> = Set(Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_".utf8))

    package func preflight(location: String) throws {
        try store?.checkCredentials(location: location)
        try backupStore?.checkCredentials(location: location)
        _ = try http?.accessKey(location: location)
    }

    /// - Parameter sourceArn: the local stream's ARN (the transform event names it).
    package func destination(stream: String, export: String, sourceArn: String, location: String, logger: Logger) throws -> BufferingDestination {
        let namePrefix = ObjectTarget.namePrefix(stream: stream, export: export)
        var settings = BufferingDestination.Settings()
        settings.bufferBytes = bufferBytes
        settings.bufferSeconds = bufferSeconds
        settings.maxOpenPartitions = maxOpenPartitions
        settings.backupAll = backupAll
        let dataPrefix = try ObjectPrefix(prefix)
        if !partitionKeys.isEmpty || dataPrefix.partitionNames.contains(Partition.recordKey) {
            settings.partitioning = try Partitioning(queries: partitionKeys, byRecordKey: dataPrefix.partitionNames.contains(Partition.recordKey))
        }
        if let command = transformCommand {
            let arn = sourceArn.split(separator: ":", omittingEmptySubsequences: false)
            let region = arn.count > 4 ? String(arn[3]) : "local"
            let account = arn.count > 4 ? String(arn[4]) : "000000000000"
            var transform = RecordTransformer(
                command: command, deliveryStreamArn: "arn:aws:firehose:\(region):\(account):deliverystream/\(export)", sourceStreamArn: sourceArn, region: region
            )
            transform.timeout = .seconds(transformTimeoutSeconds)
            transform.retries = transformRetries
            settings.transform = transform
        }
        let errorFraming = RecordFraming(format: .data, newline: false)
        let target: any DeliveryTarget
        var errorTarget: (any DeliveryTarget)?
        var backupTarget: (any DeliveryTarget)?
        func objects(_ store: any ObjectStore, _ template: String, _ framing: RecordFraming) throws -> ObjectTarget {
            ObjectTarget(store: store, prefix: try ObjectPrefix(template), framing: framing, compression: compression, namePrefix: namePrefix, logger: logger)
        }
        if let http {
            let sideStore = try backupStore?.store(namePrefix: namePrefix, location: location, logger: logger)
            target = HTTPEndpointTarget(settings: http.settings(accessKey: try http.accessKey(location: location), hasErrorOutput: sideStore != nil), logger: logger)
            if let sideStore {
                errorTarget = try objects(sideStore, errorPrefix, errorFraming)
                if backupAll { backupTarget = try objects(sideStore, backupPrefix, RecordFraming(format: .data, newline: true)) }
            }
        } else {
            guard let store else { throw ConfigError("\(location): no directory, bucket or url") }
            let objectStore = try store.store(namePrefix: namePrefix, location: location, logger: logger)
            target = try objects(objectStore, prefix, framing)
            errorTarget = try objects(objectStore, errorPrefix, errorFraming)
            if backupAll { backupTarget = try objects(objectStore, backupPrefix, framing) }
        }
        return BufferingDestination(settings: settings, target: target, errorTarget: errorTarget, backupTarget: backupTarget, export: export, logger: logger)
    }

    /// Where it goes, for the start's log line.
    package var summary: String { http.map { "http endpoint \($0.url)" } ?? store?.summary ?? "" }
}
