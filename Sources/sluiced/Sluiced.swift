import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SluiceEngine
import SluiceKinesis
import SluiceStorage

/// `sluiced`: the Sluice daemon.
@main
struct Sluiced: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluiced",
        abstract: "Sluice: an edge ingestion daemon with an embedded, Kinesis-compatible stream engine."
    )

    @Option(name: .long, help: "The TOML config file.")
    var config: String = "/etc/sluice/sluice.toml"

    @Flag(name: .long, help: "Check the config file and exit.")
    var checkConfig = false

    func run() async throws {
        let settings = try SluiceConfig.load(path: config)
        if checkConfig {
            print("\(config): OK")
            return
        }
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "sluiced")
        logger.info("starting", metadata: ["config": "\(config)", "data_dir": "\(settings.dataDirectory)"])

        var engineOptions = settings.engine
        if let keyFile = settings.resolvedKeyFile(environment: ProcessInfo.processInfo.environment) {
            let keys = try LocalKeyFile.load(path: keyFile)
            engineOptions.keys = keys.provider
            logger.info("encryption at rest on", metadata: [
                "key_file": "\(keyFile)", "default_key": "\(keys.provider.defaultKeyId)",
                "versions": "\(keys.entries.map { "\($0.id) v\($0.version)" }.joined(separator: ", "))",
            ])
        }
        let engine = try StreamEngine(
            dataDirectory: settings.dataDirectory, options: engineOptions, logger: Logger(label: "sluice.engine")
        )
        try await StreamProvisioner(engine: engine, logger: logger).apply(settings.streams)
        if engineOptions.keys != nil && settings.encryptAll {
            try StreamProvisioner(engine: engine, logger: logger).encryptAll()
        }

        let router = KinesisHTTPServer.router(dispatcher: KinesisDispatcher(engine: engine), logger: logger)
        let address = "\(settings.listenHost.contains(":") ? "[\(settings.listenHost)]" : settings.listenHost):\(settings.listenPort)"
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(settings.listenHost, port: settings.listenPort), serverName: "Sluice"),
            onServerRunning: { _ in logger.info("Kinesis API listening", metadata: ["address": "\(address)"]) },
            logger: Logger(label: "sluice.api")
        )
        let maintenance = EngineMaintenanceService(
            engine: engine, retentionEvery: .seconds(settings.retentionCheckSeconds),
            syncEvery: settings.engine.log.sync == .periodic ? .milliseconds(settings.syncIntervalMillis) : nil,
            logger: logger
        )
        var groupConfiguration = ServiceGroupConfiguration(
            services: [.init(service: maintenance), .init(service: app)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        // Below the unit's TimeoutStopSec, so a stuck part cannot make systemd SIGKILL us.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(60)
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await group.run()
        } catch {
            await engine.close()
            throw ConfigError("sluiced stopped: \(error) (check [api] listen = \"\(address)\" in \(config): is another process using it?)")
        }
        await engine.close()
        logger.info("stopped; everything acknowledged is on disk")
    }
}
