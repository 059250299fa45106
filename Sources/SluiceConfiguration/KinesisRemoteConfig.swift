import SluiceKinesis

/// Where a remote Kinesis stream is and how to sign for it: the keys `[[exports]]
/// kind = "kinesis"` shares with the old `[sink]`.
package struct KinesisRemoteConfig: Equatable {
    package var endpoint: String?
    package var region = "us-east-1"
    package var credentialsFile: String?
    package var profile: String?
    package var aggregation = false
    package var aggregationMaxBytes = 51_200
    package var mapRefreshSeconds = 30

    /// - Parameter location: how messages name the section (`file: [[exports]] #1 (name)`).
    package static func parse(_ section: TOMLSection, location: String) throws -> KinesisRemoteConfig {
        var config = KinesisRemoteConfig()
        config.endpoint = try section.string("endpoint")
        if let endpoint = config.endpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
            throw ConfigError("\(location) endpoint: \"\(endpoint)\" must start with https:// (or http:// for a local stand-in)")
        }
        config.region = try section.string("region") ?? config.region
        config.credentialsFile = try section.string("credentials_file")
        config.profile = try section.string("profile")
        config.aggregation = try section.bool("aggregation") ?? false
        config.aggregationMaxBytes = try section.int("aggregation_max_bytes", range: 1024...1_048_576) ?? config.aggregationMaxBytes
        config.mapRefreshSeconds = try section.int("map_refresh_seconds", range: 1...3600) ?? config.mapRefreshSeconds
        return config
    }

    /// Kinesis' public endpoint for the region unless one is configured.
    package var resolvedEndpoint: String { endpoint ?? "https://kinesis.\(region).amazonaws.com" }

    /// The remote's credentials, found as the AWS SDKs find them.
    @discardableResult
    package func checkCredentials(location: String) throws -> AWSCredentialsProvider {
        do { return try AWSCredentialsProvider(file: credentialsFile, profile: profile) } catch {
            throw ConfigError("\(location): \(error)")
        }
    }

    /// The same settings as `[[exports]]` keys, for the advice a translated `[sink]` logs.
    package var tomlLines: [String] {
        var lines: [String] = []
        if let endpoint { lines.append("endpoint = \"\(endpoint)\"") }
        lines.append("region = \"\(region)\"")
        if let credentialsFile { lines.append("credentials_file = \"\(credentialsFile)\"") }
        if let profile { lines.append("profile = \"\(profile)\"") }
        if aggregation { lines += ["aggregation = true", "aggregation_max_bytes = \(aggregationMaxBytes)"] }
        return lines
    }
}
