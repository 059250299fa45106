import FoundationEssentials
import SluiceStorage
import Synchronization

/// Finds AWS credentials where the AWS SDKs look, in this order: a credentials file named
/// in the config, the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), then the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`
/// or `~/.aws/credentials`, profile `AWS_PROFILE` or `default`).
///
/// Looked up again every minute, so rotated keys (and refreshed session tokens written
/// to the file) are picked up without a restart.
public final class AWSCredentialsProvider: Sendable {
    let file: String?
    let profile: String?
    let environment: [String: String]
    private let cache = Mutex<(credentials: SigV4.Credentials, at: ContinuousClock.Instant)?>(nil)

    /// - Throws: `AWSCredentialsError` when no source has credentials, naming where it looked.
    public init(file: String?, profile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.file = file
        self.profile = profile
        self.environment = environment
        _ = try credentials()
    }

    public func credentials() throws -> SigV4.Credentials {
        if let cached = cache.withLock({ $0 }), ContinuousClock.now - cached.at < .seconds(60) { return cached.credentials }
        let found = try resolve()
        cache.withLock { $0 = (found, .now) }
        return found
    }

    /// Where the credentials come from, for the log (never the secret).
    public var sourceDescription: String {
        if let file { return "file \(file)" }
        if environment["AWS_ACCESS_KEY_ID"] != nil { return "environment" }
        return "shared credentials file \(sharedFile) (profile \(profileName))"
    }

    var profileName: String { profile ?? environment["AWS_PROFILE"] ?? "default" }
    var sharedFile: String { environment["AWS_SHARED_CREDENTIALS_FILE"] ?? (environment["HOME"] ?? "/root") + "/.aws/credentials" }

    private func resolve() throws -> SigV4.Credentials {
        if let file { return try Self.read(file: file, profile: profileName) }
        if let id = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"] {
            return SigV4.Credentials(accessKeyId: id, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"])
        }
        guard FileManager.default.fileExists(atPath: sharedFile) else {
            throw AWSCredentialsError(.missing, "no AWS credentials: set credentials_file (in the [[exports]] entry), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in sluiced's environment, or write \(sharedFile)")
        }
        return try Self.read(file: sharedFile, profile: profileName)
    }

    /// Reads one profile of an AWS credentials file (INI: `[profile]`, `key = value`).
    static func read(file: String, profile: String) throws -> SigV4.Credentials {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw AWSCredentialsError(.unreadable, "\(file): cannot read the AWS credentials file; check the path and that the sluice user may read it")
        }
        var section = ""
        var values: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = line.dropFirst().dropLast().trimmingWhitespace()
                continue
            }
            guard section == profile, let equals = line.firstIndex(of: "=") else { continue }
            values[line[..<equals].trimmingWhitespace()] = line[line.index(after: equals)...].trimmingWhitespace()
        }
        guard let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else {
            throw AWSCredentialsError(.incompleteProfile, "\(file): profile [\(profile)] has no aws_access_key_id and aws_secret_access_key")
        }
        return SigV4.Credentials(accessKeyId: id, secretAccessKey: secret, sessionToken: values["aws_session_token"])
    }
}

/// Why no AWS credentials could be had.
public enum AWSCredentialsProblem: Sendable, Equatable {
    /// No credentials anywhere sluiced looks.
    case missing
    /// The credentials file cannot be read.
    case unreadable
    /// The profile lacks a key id or secret.
    case incompleteProfile
}

public typealias AWSCredentialsError = CodedFailure<AWSCredentialsProblem>

