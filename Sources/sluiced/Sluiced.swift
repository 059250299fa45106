import ArgumentParser
import CMallocTuning
import CThreadPriority
import FoundationEssentials
import Glibc
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import SluiceConfiguration
import SluiceEngine
import SluiceExports
import SluiceFunctions
import SluiceGateway
import SluiceKinesis
import SluiceKinesisServer
import SluiceMQTT
import SluiceStorage
import SluiceSystemd
import UnixSignals

/// `sluiced`: the Sluice daemon.
@main
struct Sluiced: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluiced",
        abstract: "Sluice: an edge ingestion daemon with an embedded, Kinesis-compatible stream engine."
    )

    @Option(name: .long, help: "The TOML config file.")
    var config: String = "/etc/sluice/sluice.toml"

    @Flag(name: .long, help: "Check the config file (and the files it names) and exit.")
    var checkConfig = false

    /// The exit status of a refused config (EX_CONFIG from sysexits.h).
    static let configRefusedStatus: Int32 = 78

    func run() async throws {
        // A transform command that exits before reading its input must not take the
        // daemon down with SIGPIPE; writes to a closed pipe fail with EPIPE instead.
        signal(SIGPIPE, SIG_IGN)
        let environment = ProcessInfo.processInfo.environment
        let settings: SluiceConfig
        do {
            settings = try SluiceConfig.load(path: config)
            try settings.preflight(environment: environment, streamExists: settings.streamOnDisk)
        } catch {
            // A distinct status, so the unit's RestartPreventExitStatus= stops retrying a
            // config that can never start.
            StandardError.write("Error: \(error)\n")
            throw ExitCode(Self.configRefusedStatus)
        }
        if checkConfig {
            print("\(config): OK")
            return
        }
        sluice_tune_malloc()
        sluice_thread_priority_link()
        let levels = LogSetup.bootstrap(level: Logger.Level(rawValue: settings.logLevel) ?? .info, environment: environment)
        let registry = PrometheusCollectorRegistry()
        var metrics = PrometheusMetricsFactory(registry: registry)
        // CloudWatch names (PutRecords.FailedRecords) with `_` where Prometheus forbids `.`.
        metrics.nameAndLabelSanitizer = { name, labels in (name.replacing(".", with: "_"), labels) }
        MetricsSystem.bootstrap(metrics)
        let logger = Logger(label: "sluiced")
        let notifier = SystemdNotifier()
        logger.info("starting", metadata: ["config": "\(config)", "data_dir": "\(settings.dataDirectory)"])
        for warning in settings.warnings { logger.warning("\(warning)") }

        var engineOptions = settings.engine
        var keyRing: ReloadableKeyProvider?
        if let keyFile = settings.resolvedKeyFile(environment: environment) {
            let keys = try LocalKeyFile.load(path: keyFile)
            keyRing = ReloadableKeyProvider(keys.provider)
            engineOptions.keys = keyRing
            logger.info("encryption at rest on", metadata: [
                "key_file": "\(keyFile)", "default_key": "\(keys.provider.defaultKeyId)",
                "versions": "\(keys.entries.map { "\($0.id) v\($0.version)" }.joined(separator: ", "))",
            ])
        }
        if DataDirectoryCheck.isTmpfs(settings.dataDirectory) {
            logger.warning("data_dir is on a tmpfs: streams, the spool and file checkpoints will not survive a reboot; point data_dir at persistent storage", metadata: ["data_dir": "\(settings.dataDirectory)"])
        }
        notifier.status("recovering \(settings.dataDirectory)")
        let engine = try StreamEngine(
            dataDirectory: settings.dataDirectory, options: engineOptions, logger: Logger(label: "sluice.engine")
        )
        let provisioner = StreamProvisioner(engine: engine, logger: logger)
        try await provisioner.apply(settings.streams)
        if engineOptions.keys != nil && settings.encryptAll { try provisioner.encryptAll() }

        // The gateway: sources -> partition keys -> per-shard meter -> the engine or the spool.
        let gateway = Gateway(
            sink: EmbeddedSink(engine: engine), dataDirectory: settings.dataDirectory, settings: settings.limits.gatewaySettings,
            keys: keyRing, keyId: keyRing?.defaultKeyId, logger: Logger(label: "sluice.gateway")
        )
        let host = ProcessInfo.processInfo.hostName
        // A source or export whose stream is quarantined stays stopped (file checkpoints,
        // the broker's session and the export's positions keep their place); the other
        // sources, exports and streams run.
        let quarantined = engine.catalog.quarantinedStreamNames
        let exportLogger = Logger(label: "sluice.export")
        let exports = try settings.exports.filter { export in
            guard quarantined.contains(export.stream) else { return true }
            logger.error("export not started: its stream is quarantined", metadata: [
                "export": "\(export.name)", "stream": "\(export.stream)", "fix": "run `sluice repair \(settings.dataDirectory)` with sluiced stopped",
            ])
            return false
        }.map { try $0.makeExport(engine: engine, logger: exportLogger) }
        let functionLogger = Logger(label: "sluice.function")
        let functions = try settings.functions.filter { function in
            if !function.enabled {
                logger.notice("function not started: enabled = false (its position is kept)", metadata: ["function": "\(function.settings.name)"])
                return false
            }
            guard quarantined.contains(function.settings.stream) else { return true }
            logger.error("function not started: its stream is quarantined", metadata: [
                "function": "\(function.settings.name)", "stream": "\(function.settings.stream)",
                "fix": "run `sluice repair \(settings.dataDirectory)` with sluiced stopped",
            ])
            return false
        }.map {
            try $0.makeRunner(engine: engine, region: settings.engine.region, accountId: settings.engine.accountId, exports: settings.exports, logger: functionLogger)
        }
        let exportControl = ExportControl(exports: exports)
        let firehose = FirehoseAPI(engine: engine, exports: exports)
        func runs(_ source: RecordConfig) -> Bool {
            guard let name = source.streams.first(where: quarantined.contains) else { return true }
            logger.error("source not started: its stream is quarantined", metadata: [
                "source": "\(source.location)", "stream": "\(name)", "fix": "run `sluice repair \(settings.dataDirectory)` with sluiced stopped",
            ])
            return false
        }
        try settings.checkSourceStreams { quarantined.contains($0) || (try? engine.catalog.metadata(of: $0)) != nil }
        let fileLogger = Logger(label: "sluice.source.file")
        let fileSources = try settings.fileSources.filter { runs($0.record) }.map { source in
            try FileSource(
                settings: source.settings(host: host, logger: fileLogger), gateway: gateway,
                checkpointDirectory: settings.dataDirectory + "/checkpoints", logger: fileLogger
            )
        }
        let mqttLogger = Logger(label: "sluice.source.mqtt")
        let mqttSources = try settings.mqttSources.filter { runs($0.record) }.map { source in
            do {
                return try MQTTSource(
                    settings: source.settings(host: host, stateDirectory: settings.dataDirectory + "/checkpoints", logger: mqttLogger),
                    gateway: gateway, logger: mqttLogger
                )
            } catch let error as MQTTSourceError {
                throw ConfigError("\(source.record.location): \(error)")
            }
        }
        let gatewayStreams = settings.sourceRecords.filter(runs).flatMap(\.streams)
        // Spools left by the last run are recovered and their lanes opened before anything
        // reports ready or serves /status: until then a pending spool would look drained.
        await gateway.prepare(streams: gatewayStreams)
        let gatewayService = GatewayService(gateway: gateway, streams: gatewayStreams)

        let accessControl = try settings.auth?.accessControl(region: settings.engine.region, accountId: settings.engine.accountId)
        if let auth = settings.auth {
            logger.info("API access control on", metadata: ["credentials_file": "\(auth.credentialsFile)"])
        }
        let router = KinesisHTTPServer.router(
            dispatcher: KinesisDispatcher(engine: engine, subscriptionDuration: .seconds(settings.subscriptionSeconds)),
            accessControl: accessControl, extra: [
                ExportControl.targetPrefix: { try await exportControl.handle(action: $0, body: $1) },
                FirehoseAPI.targetPrefix: { try await firehose.handle(action: $0, body: $1) },
            ],
            logger: logger
        )
        router.get("/metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        let sourceStatus: @Sendable () -> [GatewayStatus.Source] = { fileSources.map(\.status) + mqttSources.map(\.status) }
        router.get("/status") { _, _ -> Response in
            let (streams, spool) = gateway.status()
            let status = GatewayStatus(
                streams: streams, spool: spool, sources: sourceStatus(), storage: engine.writer.storageStatus(), exports: exports.map { $0.status() },
                functions: functions.map { $0.status() }
            )
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(status))))
        }
        let address = "\(settings.listenHost.contains(":") ? "[\(settings.listenHost)]" : settings.listenHost):\(settings.listenPort)"
        let (apiReady, apiReadyContinuation) = AsyncStream.makeStream(of: Void.self)
        let connections = ConnectionGuard(
            maxConnections: DescriptorLimit.fit(maxConnections: settings.maxConnections, logger: logger),
            idleTimeout: .seconds(settings.idleTimeoutSeconds), logger: Logger(label: "sluice.api")
        )
        let app = Application(
            router: router,
            server: try settings.apiServer(connections: connections),
            configuration: .init(address: .hostname(settings.listenHost, port: settings.listenPort), serverName: "Sluice"),
            onServerRunning: { _ in
                logger.info("Kinesis API listening", metadata: ["address": "\(address)", "tls": "\(settings.tlsCertFile != nil)"])
                apiReadyContinuation.yield()
            },
            logger: Logger(label: "sluice.api")
        )
        let maintenance = EngineMaintenanceService(
            engine: engine, retentionEvery: .seconds(settings.retentionCheckSeconds),
            syncEvery: settings.engine.log.sync == .periodic ? .milliseconds(settings.syncIntervalMillis) : nil,
            autoscaleEvery: .seconds(settings.onDemandCheckSeconds),
            logger: logger
        )
        let systemd = SystemdService(
            engine: engine, gateway: gateway, notifier: notifier, apiReady: apiReady,
            health: HealthCheck(engine: engine, failFile: environment["SLUICE_HEALTH_FAIL_FILE"]), logger: logger
        )
        let reload = ReloadService(
            configPath: config, engine: engine, notifier: notifier, current: settings, logLevel: levels,
            keyRing: keyRing, keyFile: settings.resolvedKeyFile(environment: environment), logger: logger
        )
        // Started in this order, stopped in reverse: systemd first (STOPPING=1 at once),
        // then reloads, the API (drains requests), the sources (finish and checkpoint their
        // batch), the gateway (writes spool cursors), the exports (a batch in flight goes
        // again at the next start), the functions (the batches running end), and the
        // engine's maintenance last.
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: maintenance), .init(service: ConsumerService(functions)), .init(service: ConsumerService(exports)),
            .init(service: gatewayService),
        ]
            + fileSources.map { .init(service: $0) } + mqttSources.map { .init(service: $0) }
            + [.init(service: app), .init(service: reload), .init(service: systemd)]
        var groupConfiguration = ServiceGroupConfiguration(
            services: services,
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
