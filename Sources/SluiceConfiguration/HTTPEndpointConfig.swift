import FoundationEssentials
import SluiceExports

/// The keys of `[[exports]] kind = "http"`: a Firehose HTTP endpoint and how to reach it.
package struct HTTPEndpointConfig: Equatable {
    package var url: String
    package var accessKeyFile: String?
    package var commonAttributes: [String: String] = [:]
    package var gzip = false
    package var timeoutSeconds = 60
    package var retrySeconds = 300

    package static func parse(_ section: TOMLSection, location: String) throws -> HTTPEndpointConfig {
        guard let url = try section.string("url") else {
            throw ConfigError("\(location): url is required for kind = \"http\" (the endpoint's https:// URL)", code: .missingKey)
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://"), URL(string: url)?.host != nil else {
            throw ConfigError("\(location) url: \"\(url)\" must be an https:// URL (or http:// for a local receiver)")
        }
        var config = HTTPEndpointConfig(url: url)
        config.accessKeyFile = try section.string("access_key_file")
        config.commonAttributes = try section.stringTable("common_attributes") ?? [:]
        config.gzip = try section.choice("content_encoding", ["none", "gzip"]) == "gzip"
        config.timeoutSeconds = try section.int("timeout_seconds", range: 1...900) ?? config.timeoutSeconds
        config.retrySeconds = try section.int("retry_seconds", range: 0...7200) ?? config.retrySeconds
        return config
    }

    /// The access key, read at start (at most 4,096 bytes, a trailing newline dropped).
    package func accessKey(location: String) throws -> String? {
        guard let file = accessKeyFile else { return nil }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError("\(location) access_key_file: cannot read \(file); create it (mode 0600) with the key the endpoint expects", code: .unreadableFile)
        }
        guard data.count <= 4096, var key = String(data: data, encoding: .utf8) else {
            throw ConfigError("\(location) access_key_file: \(file) must hold at most 4,096 bytes of UTF-8 text")
        }
        while key.hasSuffix("\n") || key.hasSuffix("\r") { key.removeLast() }
        guard !key.isEmpty, !key.contains(where: { $0.isNewline }) else {
            throw ConfigError("\(location) access_key_file: \(file) must hold the key on one line")
        }
        return key
    }

    package func settings(accessKey: String?, hasErrorOutput: Bool) -> HTTPEndpointTarget.Settings {
        var settings = HTTPEndpointTarget.Settings(url: url)
        settings.accessKey = accessKey
        settings.commonAttributes = commonAttributes
        settings.gzip = gzip
        settings.timeout = .seconds(timeoutSeconds)
        settings.retryWindow = hasErrorOutput ? .seconds(retrySeconds) : nil
        return settings
    }
}
