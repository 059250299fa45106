import Logging
import SluiceExports

/// The keys of `[[exports]] kind = "files"` (OBJECTS.md in SluiceExports: names, content,
/// writing).
struct FilesExportConfig: Equatable {
    var directory: String
    var prefix = ""
    var bufferBytes = 5 << 20
    var bufferSeconds = 300
    var framing = RecordFraming()
    var compression = Compression.none

    static func parse(_ section: TOMLSection, location: String) throws -> FilesExportConfig {
        guard let directory = try section.string("directory") else {
            throw ConfigError("\(location): directory is required for kind = \"files\" (an absolute path: a disk, a NAS mount, a sync agent's folder)")
        }
        guard directory.hasPrefix("/") else {
            throw ConfigError("\(location) directory: use an absolute path (got \"\(directory)\")")
        }
        var config = FilesExportConfig(directory: directory)
        config.prefix = try section.string("prefix") ?? ""
        do { _ = try ObjectPrefix(config.prefix) } catch {
            throw ConfigError("\(location) prefix: \(error)")
        }
        config.bufferBytes = try section.int("buffer_bytes", range: (1 << 20)...(128 << 20)) ?? config.bufferBytes
        config.bufferSeconds = try section.int("buffer_seconds", range: 0...900) ?? config.bufferSeconds
        let format = try section.choice("record_format", RecordFraming.Format.allCases.map(\.rawValue)) ?? "data"
        let delimiter = try section.choice("delimiter", ["none", "newline"])
        if format == RecordFraming.Format.jsonLines.rawValue, delimiter != nil {
            throw ConfigError("\(location) delimiter: json_lines ends every record with a newline already; remove delimiter")
        }
        config.framing = RecordFraming(format: RecordFraming.Format(rawValue: format)!, newline: delimiter == "newline")
        config.compression = Compression(rawValue: try section.choice("compression", Compression.allCases.map(\.rawValue)) ?? "none")!
        return config
    }

    func destination(stream: String, export: String, logger: Logger) throws -> FilesDestination {
        var settings = FilesDestination.Settings(directory: directory, prefix: try ObjectPrefix(prefix))
        settings.bufferBytes = bufferBytes
        settings.bufferSeconds = bufferSeconds
        settings.framing = framing
        settings.compression = compression
        return try FilesDestination(settings: settings, stream: stream, export: export, logger: logger)
    }
}
