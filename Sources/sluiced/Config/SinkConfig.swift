import Logging
import SluiceGateway
import SluiceKinesis

/// `[sink]`: where the gateway stores records — the embedded engine (default) or a
/// remote Kinesis stream of the same name.
struct SinkConfig: Equatable {
    enum Kind: String, CaseIterable { case embedded, kinesis }

    var kind = Kind.embedded
    var endpoint: String?
    var region = "us-east-1"
    var credentialsFile: String?
    var profile: String?
    var aggregation = false
    var aggregationMaxBytes = 51_200
    var maxInFlightRequests = 8
    var maxAttempts = 6
    var mapRefreshSeconds = 30
    var lingerMillis = 20

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
        config.maxInFlightRequests = try section.int("max_in_flight_requests", range: 1...256) ?? config.maxInFlightRequests
        config.maxAttempts = try section.int("max_attempts", range: 1...100) ?? config.maxAttempts
        config.mapRefreshSeconds = try section.int("map_refresh_seconds", range: 1...3600) ?? config.mapRefreshSeconds
        config.lingerMillis = try section.int("linger_ms", range: 0...10_000) ?? config.lingerMillis
        try section.rejectUnknownKeys()
        if config.kind == .embedded, config.endpoint != nil || config.aggregation {
            throw ConfigError("\(file): [sink] endpoint and aggregation apply to kind = \"kinesis\"; set kind = \"kinesis\" to forward")
        }
        return config
    }

    /// Kinesis' public endpoint for the region unless one is configured.
    var resolvedEndpoint: String { endpoint ?? "https://kinesis.\(region).amazonaws.com" }

    /// The sink the gateway writes to; nil for the embedded engine.
    /// - Throws: `ConfigError` when no AWS credentials are found.
    /// The remote's credentials, loaded as the start loads them.
    @discardableResult
    func checkCredentials() throws -> AWSCredentialsProvider {
        do { return try AWSCredentialsProvider(file: credentialsFile, profile: profile) } catch {
            throw ConfigError("[sink] \(error)")
        }
    }

    func remoteSink(logger: Logger) throws -> KinesisSink? {
        guard kind == .kinesis else { return nil }
        let credentials = try checkCredentials()
        var settings = KinesisSink.Settings()
        settings.maxInFlightRequests = maxInFlightRequests
        settings.maxAttempts = maxAttempts
        settings.mapRefresh = .seconds(mapRefreshSeconds)
        settings.linger = .milliseconds(lingerMillis)
        settings.aggregationMaxBytes = aggregation ? aggregationMaxBytes : nil
        logger.info("forwarding to a remote Kinesis endpoint", metadata: [
            "endpoint": "\(resolvedEndpoint)", "region": "\(region)", "credentials": "\(credentials.sourceDescription)", "aggregation": "\(aggregation)",
        ])
        return KinesisSink(
            client: KinesisClient(endpoint: resolvedEndpoint, signing: .init(region: region, credentials: credentials)),
            settings: settings, logger: logger
        )
    }
}
