import Logging
import SluiceExports
import SluiceKinesis

/// Where objects go: `kind = "files"` (a local directory) or `kind = "s3"` (an
/// S3-compatible bucket). The keys of an `[[exports]]` entry of those kinds, and of an
/// HTTP export's `[exports.backup_store]`.
package enum ObjectStoreConfig: Equatable {
    case files(directory: String)
    case s3(S3Config)

    package struct S3Config: Equatable {
        package var bucket: String
        package var endpoint: String?
        package var region = "us-east-1"
        package var credentialsFile: String?
        package var profile: String?
        /// Path style (`host/bucket/key`) by default with a configured endpoint (MinIO,
        /// Ceph, a stand-in), virtual-host style (`bucket.host/key`) for Amazon S3.
        package var pathStyle: Bool?
        package var multipartThreshold = 16 << 20
        package var partBytes = 8 << 20

        package var resolvedEndpoint: String { endpoint ?? "https://s3.\(region).amazonaws.com" }
    }

    package static func parse(_ section: TOMLSection, kind: String, location: String) throws -> ObjectStoreConfig {
        switch kind {
        case "files":
            guard let directory = try section.string("directory") else {
                throw ConfigError("\(location): directory is required for kind = \"files\" (an absolute path: a disk, a NAS mount, a sync agent's folder)", code: .missingKey)
            }
            guard directory.hasPrefix("/") else {
                throw ConfigError("\(location) directory: use an absolute path (got \"\(directory)\")")
            }
            return .files(directory: directory)
        default:
            guard let bucket = try section.string("bucket") else {
                throw ConfigError("\(location): bucket is required for kind = \"s3\"", code: .missingKey)
            }
            guard (3...63).contains(bucket.utf8.count), bucket.utf8.allSatisfy({ Self.bucketBytes.contains($0) }) else {
                throw ConfigError("\(location) bucket: \"\(bucket)\" is not a bucket name (3–63 characters of a-z, 0-9, . and -)")
            }
            var config = S3Config(bucket: bucket)
            config.endpoint = try section.string("endpoint")
            if let endpoint = config.endpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
                throw ConfigError("\(location) endpoint: \"\(endpoint)\" must start with https:// (or http:// for a local store)")
            }
            config.region = try section.string("region") ?? config.region
            config.credentialsFile = try section.string("credentials_file")
            config.profile = try section.string("profile")
            if let addressing = try section.choice("addressing", ["virtual", "path"]) { config.pathStyle = addressing == "path" }
            config.multipartThreshold = try section.int("multipart_threshold", range: (5 << 20)...(5 << 30)) ?? config.multipartThreshold
            config.partBytes = try section.int("multipart_part_bytes", range: (5 << 20)...(512 << 20)) ?? config.partBytes
            return .s3(config)
        }
    }

    private static let bucketBytes: Set<UInt8> = Set(Array("abcdefghijklmnopqrstuvwxyz0123456789.-".utf8))

    /// The S3 credentials, found as the AWS SDKs find them (nothing for files).
    package func checkCredentials(location: String) throws {
        if case .s3(let config) = self { _ = try Self.credentials(config, location: location) }
    }

    private static func credentials(_ config: S3Config, location: String) throws -> AWSCredentialsProvider {
        do { return try AWSCredentialsProvider(file: config.credentialsFile, profile: config.profile) } catch {
            throw ConfigError("\(location): \(error)")
        }
    }

    package func store(namePrefix: String, location: String, logger: Logger) throws -> any ObjectStore {
        switch self {
        case .files(let directory):
            return DirectoryStore(directory: directory, namePrefix: namePrefix, logger: logger)
        case .s3(let config):
            var settings = S3Store.Settings(bucket: config.bucket, endpoint: config.resolvedEndpoint, region: config.region, pathStyle: config.pathStyle ?? (config.endpoint != nil))
            settings.multipartThreshold = config.multipartThreshold
            settings.partBytes = config.partBytes
            return S3Store(settings: settings, credentials: try Self.credentials(config, location: location), namePrefix: namePrefix, logger: logger)
        }
    }

    /// For the start's log line.
    package var summary: String {
        switch self {
        case .files(let directory): "files in \(directory)"
        case .s3(let config): "s3://\(config.bucket) at \(config.resolvedEndpoint)"
        }
    }
}
