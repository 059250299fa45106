import Logging
import SluiceEngine
import SluiceExports
import SluiceKinesis

/// `[[exports]]`: a durable consumer of one local stream and where it sends the records:
/// `kinesis`, a remote Kinesis stream; `files`, `s3` or `http`, Firehose's way.
package struct ExportConfig: Equatable {
    package enum Kind: String, CaseIterable { case kinesis, files, s3, http }

    package var name: String
    package var stream: String
    package var kind = Kind.kinesis
    package var remoteStream: String
    package var remote = KinesisRemoteConfig()
    package var batchMaxRecords = 500
    package var start = ConsumerStart.trimHorizon
    package var remoteRecordsPerSecond = 1_000
    package var remoteBytesPerSecond = 1 << 20
    /// With kind = "files", "s3" or "http".
    package var delivery: DeliveryExportConfig?
    /// Where the entry is, for messages: `[[exports]] #2 (to-cloud)`.
    package var location: String

    package static func parse(_ section: TOMLSection, file: String) throws -> ExportConfig {
        guard let name = try section.string("name") else {
            throw ConfigError("\(file): \(section.path): name is required (it names the export's position on disk; keep it stable)", code: .missingKey)
        }
        let location = "\(file): \(section.path) (\(name))"
        guard (1...128).contains(name.utf8.count), name.utf8.allSatisfy({ Self.nameBytes.contains($0) }) else {
            throw ConfigError("\(location) name: use 1–128 characters from [a-zA-Z0-9_.-]")
        }
        guard let stream = try section.string("stream") else {
            throw ConfigError("\(location): stream is required (the local stream to export)", code: .missingKey)
        }
        guard let kind = try section.choice("kind", Kind.allCases.map(\.rawValue)) else {
            throw ConfigError("\(location): kind is required; kinds are \(Kind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))", code: .missingKey)
        }
        var config = ExportConfig(name: name, stream: stream, kind: Kind(rawValue: kind)!, remoteStream: stream, location: location)
        config.batchMaxRecords = try section.int("batch_max_records", range: 1...10_000) ?? config.batchMaxRecords
        try config.parseStart(section)
        switch config.kind {
        case .files, .s3, .http:
            config.delivery = try DeliveryExportConfig.parse(section, kind: kind, location: location)
        case .kinesis:
            try config.parseKinesis(section)
        }
        try section.rejectUnknownKeys(hint: "keys of kind = \"\(kind)\" are listed in config/sluice.toml")
        return config
    }

    private mutating func parseKinesis(_ section: TOMLSection) throws {
        remoteStream = try section.string("remote_stream") ?? stream
        remote = try KinesisRemoteConfig.parse(section, location: location)
        // Lower than Kinesis' limits (a remote shared with other writers), never higher.
        remoteRecordsPerSecond = try section.int("remote_shard_records_per_second", range: 1...1_000) ?? remoteRecordsPerSecond
        remoteBytesPerSecond = try section.int("remote_shard_bytes_per_second", range: 1024...(1 << 20)) ?? remoteBytesPerSecond
    }

    private mutating func parseStart(_ section: TOMLSection) throws {
        let timestamp = try section.int("starting_timestamp", range: 0...253_402_300_799)
        switch try section.choice("starting_position", ["trim_horizon", "latest", "at_timestamp"]) ?? "trim_horizon" {
        case "latest": start = .latest
        case "at_timestamp":
            guard let timestamp else {
                throw ConfigError("\(location): starting_position = \"at_timestamp\" needs starting_timestamp (seconds since the epoch)")
            }
            start = .atTimestamp(millis: Int64(timestamp) * 1000)
        default: start = .trimHorizon
        }
        if let timestamp, start != .atTimestamp(millis: Int64(timestamp) * 1000) {
            throw ConfigError("\(location) starting_timestamp: applies to starting_position = \"at_timestamp\" only")
        }
    }

    private static let nameBytes: Set<UInt8> = Set(Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-".utf8))

    /// What the start checks before it opens anything: credentials, an access key file.
    package func preflight() throws {
        if kind == .kinesis { try remote.checkCredentials(location: location) }
        try delivery?.preflight(location: location)
    }

    /// The export, its consumer opened on `engine`.
    package func makeExport(engine: StreamEngine, logger: Logger) throws -> Export {
        let consumer = try engine.reader.durableConsumer(stream: stream, name: name, start: start, logger: logger)
        var exportSettings = Export.Settings()
        exportSettings.batchMaxRecords = batchMaxRecords
        let destination = try makeDestination(engine: engine, objectsNamedFor: stream, logger: logger)
        return Export(name: name, kind: kind.rawValue, consumer: consumer, destination: destination, settings: exportSettings, logger: logger)
    }

    /// Where this export sends records. - Parameter objectsNamedFor: the stream its object
    /// names carry (a function's failure records name the function, so the export's own
    /// leftover cleanup never touches them).
    package func makeDestination(engine: StreamEngine, objectsNamedFor label: String, logger: Logger) throws -> any ExportDestination {
        if let delivery {
            let destination = try delivery.destination(stream: label, export: name, sourceArn: engine.catalog.arn(of: stream), location: location, logger: logger)
            logger.info("export configured", metadata: [
                "export": "\(name)", "stream": "\(label)", "destination": "\(delivery.summary)", "compression": "\(delivery.compression.rawValue)",
            ])
            return destination
        }
        let credentials = try remote.checkCredentials(location: location)
        let endpoint = remote.resolvedEndpoint
        var settings = KinesisDestination.Settings(remoteStream: remoteStream, endpoint: endpoint)
        settings.rates = .init(bytesPerSecond: remoteBytesPerSecond, recordsPerSecond: remoteRecordsPerSecond)
        settings.aggregationMaxBytes = remote.aggregation ? remote.aggregationMaxBytes : nil
        settings.mapRefresh = .seconds(remote.mapRefreshSeconds)
        logger.info("export configured", metadata: [
            "export": "\(name)", "stream": "\(label)", "endpoint": "\(endpoint)", "remote_stream": "\(remoteStream)",
            "region": "\(remote.region)", "credentials": "\(credentials.sourceDescription)", "aggregation": "\(remote.aggregation)",
        ])
        return KinesisDestination(
            client: KinesisClient(endpoint: endpoint, signing: .init(region: remote.region, credentials: credentials)),
            settings: settings, export: name, logger: logger
        )
    }
}
