import Logging
import SluiceEngine

/// `[sink]`, from before exports: `kind = "kinesis"` sent the sources' records to a remote
/// stream *instead of* storing them. Every record is now stored locally first; such a
/// config is translated into `[[exports]]` (see `translated`) with a warning.
package struct SinkConfig: Equatable {
    package enum Kind: String, CaseIterable { case embedded, kinesis }

    package var kind = Kind.embedded
    package var remote = KinesisRemoteConfig()

    package static func parse(_ section: TOMLSection, file: String) throws -> SinkConfig {
        var config = SinkConfig()
        if let kind = try section.choice("kind", Kind.allCases.map(\.rawValue)) { config.kind = Kind(rawValue: kind)! }
        config.remote = try KinesisRemoteConfig.parse(section, location: "\(file): [sink]")
        // Settings of the old direct path, read so an old config still starts; an export
        // retries until the remote takes the records, one call per shard at a time.
        for key in ["max_in_flight_requests", "max_attempts", "linger_ms"] { _ = try section.int(key) }
        try section.rejectUnknownKeys()
        if config.kind == .embedded, config.remote.endpoint != nil || config.remote.aggregation {
            throw ConfigError("\(file): [sink] endpoint and aggregation apply to kind = \"kinesis\"; set kind = \"kinesis\" to forward")
        }
        return config
    }

    /// What `[sink] kind = "kinesis"` means now that every record is stored locally first:
    /// one `[[exports]]` per stream the sources write to (named `sink-STREAM`), and the
    /// streams themselves, on demand, where `[[streams]]` does not list them. An upgraded
    /// box keeps forwarding instead of refusing to start; `advice` is the config to write.
    package func translated(sourceStreams: [String], declared: Set<String>, file: String) -> (exports: [ExportConfig], streams: [SluiceConfig.Stream], advice: String) {
        guard kind == .kinesis else { return ([], [], "") }
        var exports: [ExportConfig] = []
        var streams: [SluiceConfig.Stream] = []
        var toml: [String] = []
        for stream in sourceStreams {
            var export = ExportConfig(name: "sink-" + stream, stream: stream, remoteStream: stream, location: "\(file): [sink] (as [[exports]] sink-\(stream))")
            export.remote = remote
            exports.append(export)
            var lines = ["[[exports]]", "name = \"sink-\(stream)\"", "stream = \"\(stream)\"", "kind = \"kinesis\""] + remote.tomlLines
            if !declared.contains(stream) {
                streams.append(.init(name: stream, shards: nil, retentionHours: KinesisLimits.defaultRetentionHours, onDemand: true))
                lines = ["[[streams]]", "name = \"\(stream)\"", "mode = \"on_demand\"", ""] + lines
            }
            toml.append(lines.joined(separator: "\n"))
        }
        return (exports, streams, toml.joined(separator: "\n\n"))
    }
}
