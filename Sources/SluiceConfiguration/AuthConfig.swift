import FoundationEssentials
import SluiceKinesis
import SluiceStorage
import TOMLKit

/// `[auth]`: SigV4 access control on the API, with keys and policies from a file:
///
/// ```toml
/// [[keys]]
/// access_key_id = "edge-reader"
/// secret_access_key = "..."
/// actions = ["Get*", "Describe*", "List*"]   # Kinesis action names, shell patterns (* ?)
/// streams = ["telemetry"]                    # stream names, shell patterns (* ?)
/// ```
package struct AuthConfig: Equatable {
    package var credentialsFile: String
    package var maxClockSkewSeconds = 300

    package static func parse(_ section: TOMLSection, file: String) throws -> AuthConfig {
        guard let path = try section.string("credentials_file") else {
            throw ConfigError("\(file): [auth] credentials_file: required (the file of API access keys and their policies; remove [auth] to turn access control off)", code: .missingKey)
        }
        var config = AuthConfig(credentialsFile: path)
        config.maxClockSkewSeconds = try section.int("max_clock_skew_seconds", range: 1...86_400) ?? config.maxClockSkewSeconds
        try section.rejectUnknownKeys()
        return config
    }

    /// Reads the keys file. Refuses one that others may read (it holds secrets).
    package func accessControl(region: String, accountId: String) throws -> ApiAccessControl {
        let path = credentialsFile
        let fs = PosixFileSystem()
        guard fs.fileExists(path) else {
            throw ConfigError("[auth] credentials_file: \"\(path)\" does not exist; create it (see README, \"Access control\")", code: .unreadableFile)
        }
        let text: String
        do {
            let mode = try fs.permissions(path)
            if mode & 0o077 != 0 {
                throw ConfigError("[auth] credentials_file: \"\(path)\" may be read by other users (mode \(String(mode & 0o777, radix: 8))); run: chmod 600 \(path)")
            }
            text = String(decoding: try fs.readWholeFile(path), as: UTF8.self)
        } catch let error as StorageError {
            throw ConfigError("[auth] credentials_file: \"\(path)\" cannot be read (\(error)); it must be readable by the sluice user", code: .unreadableFile)
        }
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw ConfigError("\(path):\(error.source.begin.line):\(error.source.begin.column): not valid TOML: \(error.description)", code: .notTOML)
        }
        let top = TOMLSection(table, path: "", file: path)
        var keys: [ApiAccessControl.Key] = []
        for entry in try top.sections("keys") {
            guard let id = try entry.string("access_key_id"), !id.isEmpty else { throw ConfigError("\(path): \(entry.path) access_key_id: required", code: .missingKey) }
            guard let secret = try entry.string("secret_access_key"), secret.count >= 16 else {
                throw ConfigError("\(path): \(entry.path) secret_access_key: required, at least 16 characters", code: .missingKey)
            }
            let actions = try entry.strings("actions", nonEmpty: true) ?? ["*"]
            let streams = try entry.strings("streams", nonEmpty: true) ?? ["*"]
            try entry.rejectUnknownKeys()
            if keys.contains(where: { $0.accessKeyId == id }) { throw ConfigError("\(path): \(entry.path) access_key_id: \"\(id)\" is listed twice", code: .conflict) }
            keys.append(.init(accessKeyId: id, secretAccessKey: secret, actions: actions, streams: streams))
        }
        try top.rejectUnknownKeys(hint: "the file lists [[keys]] entries")
        guard !keys.isEmpty else { throw ConfigError("\(path): no [[keys]]; add at least one access key") }
        return ApiAccessControl(keys: keys, maxClockSkew: TimeInterval(maxClockSkewSeconds), region: region, accountId: accountId)
    }
}
