import FoundationEssentials
import Logging
import SluiceConfiguration
import SluiceEngine
import SluiceFunctions
import SluiceKinesis
import SluiceKinesisServer
import SluiceMQTT
import SluiceStorage

/// The checks a start makes before it takes the data directory: `sluiced --check-config`
/// runs exactly these, and the start runs them first, so both refuse a config with the
/// same words.
extension SluiceConfig {
    /// - Parameter streamExists: whether a stream a source names exists outside the
    ///   config's `[[streams]]` (created through the API earlier).
    /// - Throws: `ConfigError` (or the key file's own error) naming the file and setting.
    func preflight(environment: [String: String], streamExists: (String) -> Bool) throws {
        let logger = Logger(label: "sluiced.preflight", factory: { _ in SwiftLogNoOpLogHandler() })
        if let keyFile = resolvedKeyFile(environment: environment) {
            _ = try LocalKeyFile.load(path: keyFile)
        }
        _ = try apiServer(connections: ConnectionGuard(maxConnections: maxConnections, idleTimeout: .seconds(idleTimeoutSeconds), logger: logger))
        _ = try auth?.accessControl(region: engine.region, accountId: engine.accountId)
        let declared = Set(streams.map(\.name))
        try checkSourceStreams { declared.contains($0) || streamExists($0) }
        for export in exports {
            try export.preflight()
            guard declared.contains(export.stream) || streamExists(export.stream) else {
                throw ConfigError("\(export.location) stream: stream \"\(export.stream)\" does not exist; add it to [[streams]] (or create it) first")
            }
        }
        for function in functions {
            let settings = function.settings
            guard declared.contains(settings.stream) || streamExists(settings.stream) else {
                throw ConfigError("\(function.location) stream: stream \"\(settings.stream)\" does not exist; add it to [[streams]] (or create it) first")
            }
            if let target = settings.onFailureStream, !declared.contains(target) && !streamExists(target) {
                throw ConfigError("\(function.location) on_failure: stream \"\(target)\" does not exist; add it to [[streams]] (an [[exports]] entry on it carries failure records off the box)")
            }
            if let name = function.onFailureExport, !exports.contains(where: { $0.name == name }) {
                throw ConfigError("\(function.location) on_failure: no [[exports]] entry is named \"\(name)\"")
            }
            if case .command(let command) = settings.handler, !FileManager.default.isExecutableFile(atPath: command[0]) {
                throw ConfigError("\(function.location) command: \(command[0]) is not an executable file")
            }
        }
        for source in fileSources { _ = try source.settings(host: "preflight", logger: logger) }
        for source in mqttSources {
            do { _ = try source.settings(host: "preflight", logger: logger) } catch let error as MQTTSourceError {
                throw ConfigError("\(source.record.location): \(error)")
            }
        }
    }

    /// Every source's streams must exist.
    func checkSourceStreams(exists: (String) -> Bool) throws {
        for source in sourceRecords {
            guard exists(source.stream) else {
                throw ConfigError("\(source.location) stream: stream \"\(source.stream)\" does not exist; add it to [[streams]] (or create it) first")
            }
            if let errorStream = source.parseErrorStream, !exists(errorStream) {
                throw ConfigError("\(source.location) parse_error_stream: stream \"\(errorStream)\" does not exist; add it to [[streams]]")
            }
        }
    }

    /// Whether `name` has a stream directory with metadata under data_dir (read-only:
    /// `--check-config` may run beside a running sluiced).
    func streamOnDisk(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: dataDirectory + "/streams/" + PathComponent.encode(name) + "/stream.json")
    }
}
