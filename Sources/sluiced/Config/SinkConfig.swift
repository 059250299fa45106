import Logging
import SluiceEngine

/// `[sink]`, from before exports: `kind = "kinesis"` sent the sources' records to a remote
/// stream *instead of* storing them. Every record is now stored locally first; such a
/// config is translated into `[[exports]]` (see `translated`) with a warning.
struct SinkConfig: Equatable {
    enum Kind: String, CaseIterable { case embedded, kinesis }

    var kind = Kind.embedded
    var endpoint: String?
    var region = "us-east-1"
    var credentialsFile: String?
    var profile: String?
    var aggregation = false
    var aggregationMaxBytes = 51_200
    var mapRefreshSeconds = 30

    static func parse(_ section: TOMLSection, file: String) throws -> SinkConfig {
        var config = SinkConfig()
        if let kind = try section.choice("kind", Kind.allCases.map(\.rawValue)) { config.kind = Kind(rawValue: kind)! }
        config.endpoint = try section.string("endpoint")
        if let endpoint = config.endpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
            throw ConfigError("\(file): [sink] endpoint: \"\(endpoint)\" must start with https:// (or http:// for a local stand-in)")
        }
        config.region = try section.string("region") ?? config.region
        config.credentialsFile = try section.string("credentials_file")
        config.profile = try section.string("profile")
        config.aggregation = try section.bool("aggregation") ?? false
        config.aggregationMaxBytes = try section.int("aggregation_max_bytes", range: 1024...1_048_576) ?? config.aggregationMaxBytes
        config.mapRefreshSeconds = try section.int("map_refresh_seconds", range: 1...3600) ?? config.mapRefreshSeconds
        // Settings of the old direct path, read so an old config still starts; an export
        // retries until the remote takes the records, one call per shard at a time.
        for key in ["max_in_flight_requests", "max_attempts", "linger_ms"] { _ = try section.int(key) }
        try section.rejectUnknownKeys()
        if config.kind == .embedded, config.endpoint != nil || config.aggregation {
            throw ConfigError("\(file): [sink] endpoint and aggregation apply to kind = \"kinesis\"; set kind = \"kinesis\" to forward")
        }
        return config
    }

    /// What `[sink] kind = "kinesis"` means now that every record is stored locally first:
    /// one `[[exports]]` per stream the sources write to (named `sink-STREAM`), and the
    /// streams themselves, on demand, where `[[streams]]` does not list them. An upgraded
    /// box keeps forwarding instead of refusing to start; `advice` is the config to write.
    func translated(sourceStreams: [String], declared: Set<String>, file: String) -> (exports: [ExportConfig], streams: [SluiceConfig.Stream], advice: String) {
        guard kind == .kinesis else { return ([], [], "") }
        var exports: [ExportConfig] = []
        var streams: [SluiceConfig.Stream] = []
        var toml: [String] = []
        for stream in sourceStreams {
            var export = ExportConfig(name: "sink-" + stream, stream: stream, remoteStream: stream, location: "\(file): [sink] (as [[exports]] sink-\(stream))")
            export.endpoint = endpoint
            export.region = region
            export.credentialsFile = credentialsFile
            export.profile = profile
            export.aggregation = aggregation
            export.aggregationMaxBytes = aggregationMaxBytes
            export.mapRefreshSeconds = mapRefreshSeconds
            exports.append(export)
            var lines = ["[[exports]]", "name = \"sink-\(stream)\"", "stream = \"\(stream)\"", "kind = \"kinesis\""]
            if let endpoint { lines.append("endpoint = \"\(endpoint)\"") }
            lines.append("region = \"\(region)\"")
            if let credentialsFile { lines.append("credentials_file = \"\(credentialsFile)\"") }
            if let profile { lines.append("profile = \"\(profile)\"") }
            if aggregation { lines += ["aggregation = true", "aggregation_max_bytes = \(aggregationMaxBytes)"] }
            if !declared.contains(stream) {
                streams.append(.init(name: stream, shards: nil, retentionHours: KinesisLimits.defaultRetentionHours, onDemand: true))
                lines = ["[[streams]]", "name = \"\(stream)\"", "mode = \"on_demand\"", ""] + lines
            }
            toml.append(lines.joined(separator: "\n"))
        }
        return (exports, streams, toml.joined(separator: "\n\n"))
    }
}
