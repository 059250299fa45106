import Logging
import ServiceLifecycle
import SluiceConfiguration
import SluiceEngine
import SluiceStorage
import SluiceSystemd
import UnixSignals

/// SIGHUP: re-reads the config and the key file and applies what can change without a
/// restart (streams to create, retention, write limits, log level, master-key versions),
/// between RELOADING=1 and READY=1. A bad new config is refused with the reason logged
/// and the running config kept.
struct ReloadService: Service {
    let configPath: String
    let engine: StreamEngine
    let notifier: SystemdNotifier
    let current: SluiceConfig
    let logLevel: LogLevelSwitch
    /// The running key ring and its file: a reload picks up versions added by rotate.
    let keyRing: ReloadableKeyProvider?
    let keyFile: String?
    let logger: Logger

    func run() async throws {
        var running = current
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            notifier.reloading()
            do {
                let next = try SluiceConfig.load(path: configPath)
                try await apply(next, over: running)
                running = next
                logger.info("configuration reloaded", metadata: ["config": "\(configPath)"])
            } catch {
                logger.error("reload refused; keeping the running configuration", metadata: ["error": "\(error)"])
            }
            notifier.ready(status: "reloaded \(configPath)")
        }
    }

    func apply(_ next: SluiceConfig, over running: SluiceConfig) async throws {
        for (key, changed) in [
            ("data_dir", next.dataDirectory != running.dataDirectory),
            ("[api] listen", next.listenHost != running.listenHost || next.listenPort != running.listenPort),
            ("[encryption] key_file", next.keyFile != running.keyFile),
            ("[storage]", next.engine.log != running.engine.log),
            ("[limits]", next.limits != running.limits),
            ("[[sources.file]]", next.fileSources != running.fileSources),
            ("[[sources.mqtt]]", next.mqttSources != running.mqttSources),
            ("[sink]", next.sink != running.sink),
            ("[[exports]]", next.exports != running.exports),
            ("[[functions]]", next.functions != running.functions),
            ("[auth]", next.auth != running.auth),
        ] where changed {
            logger.warning("this setting changes only at restart", metadata: ["setting": "\(key)"])
        }
        if let keyRing, let keyFile {
            let keys = try LocalKeyFile.load(path: keyFile)
            keyRing.replace(with: keys.provider)
            logger.info("key file reloaded", metadata: ["versions": "\(keys.entries.map { "\($0.id) v\($0.version)" }.joined(separator: ", "))"])
        }
        try await StreamProvisioner(engine: engine, logger: logger).apply(next.streams)
        engine.writer.updateWriteLimits(StreamEngine.WriteLimits(
            enabled: next.engine.enforceWriteLimits, bytesPerSecond: next.engine.shardWriteBytesPerSecond,
            recordsPerSecond: next.engine.shardWriteRecordsPerSecond
        ))
        logLevel.set(Logger.Level(rawValue: next.logLevel) ?? .info)
    }
}
