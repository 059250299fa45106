import Logging
import ServiceLifecycle
import SluiceConfiguration
import SluiceEngine
import SluiceGateway
import SluiceSystemd

/// The daemon's side of the systemd protocol: READY=1 once the API answers (recovery is
/// done by then), STATUS= with live figures, WATCHDOG=1 every 5 s (every WatchdogSec/2
/// when that is shorter) only while the health checks pass, and STOPPING=1 as soon as a
/// graceful stop begins.
struct SystemdService: Service {
    let engine: StreamEngine
    let gateway: Gateway
    let notifier: SystemdNotifier
    /// Yields once when the API listener is up.
    let apiReady: AsyncStream<Void>
    let health: HealthCheck
    let logger: Logger
    let statusEvery: Duration = .seconds(5)

    func run() async throws {
        var ready = false
        for await _ in apiReady.cancelOnGracefulShutdown() {
            ready = true
            break
        }
        guard ready else { return }
        var previous = engine.totals
        var previousAt = ContinuousClock.now
        notifier.ready(status: status(rate: 0, problems: []))
        logger.info("ready", metadata: ["watchdog": "\(notifier.watchdogTimeout.map { "\($0)" } ?? "off")"])

        let ping = notifier.watchdogTimeout.map { $0 / 2 }
        let tick = min(ping ?? statusEvery, statusEvery)
        var sinceStatus = Duration.zero
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: tick) }
            } catch {
                break
            }
            let problems = await health.problems()
            if ping != nil {
                if problems.isEmpty {
                    notifier.watchdog()
                } else {
                    logger.error("health check failed; withholding watchdog pings", metadata: ["problems": "\(problems.joined(separator: "; "))"])
                }
            }
            sinceStatus += tick
            if sinceStatus >= statusEvery {
                let now = engine.totals
                let elapsed = (ContinuousClock.now - previousAt) / .seconds(1)
                let rate = elapsed > 0 ? Double(now.records &- previous.records) / elapsed : 0
                notifier.status(status(rate: rate, problems: problems))
                previous = now
                previousAt = .now
                sinceStatus = .zero
            }
        }
        notifier.stopping(status: "stopping: draining and syncing")
    }

    func status(rate: Double, problems: [String]) -> String {
        let totals = engine.totals
        let health = problems.isEmpty ? "healthy" : "UNHEALTHY: \(problems[0])"
        let spool = gateway.status()
        let spooled = spool.streams.flatMap(\.shards).reduce(0) { $0 + $1.spoolRecords }
        return "\(health); \(totals.streams) streams, \(totals.shards) shards, \(totals.records) records stored, \(Int(rate)) records/s in; "
            + "spool \(spooled) records, \(spool.spool.usedBytes >> 20) of \(spool.spool.maxBytes >> 20) MiB"
    }
}

/// The pipeline's health: the engine's own checks, plus an operator switch (a file whose
/// presence fails the check) to test that the watchdog really restarts the service.
struct HealthCheck: Sendable {
    let engine: StreamEngine
    /// $SLUICE_HEALTH_FAIL_FILE: while this file exists the daemon reports itself unhealthy.
    let failFile: String?

    func problems() async -> [String] {
        var problems = await engine.healthProblems()
        if let failFile, access(failFile, F_OK) == 0 {
            problems.append("\(failFile) exists (SLUICE_HEALTH_FAIL_FILE)")
        }
        return problems
    }
}

#if canImport(Glibc)
import Glibc
#endif
