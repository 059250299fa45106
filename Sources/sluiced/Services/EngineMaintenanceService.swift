import Logging
import ServiceLifecycle
import SluiceConfiguration
import SluiceEngine

/// The engine's background work: deleting segments past retention, resizing ON_DEMAND
/// streams, and with `fsync = "interval"` syncing what was acknowledged since the last sync.
struct EngineMaintenanceService: Service {
    let engine: StreamEngine
    let retentionEvery: Duration
    /// nil when every append is already synced before it is acknowledged.
    let syncEvery: Duration?
    /// How often ON_DEMAND streams are checked for hot and cold shards.
    let autoscaleEvery: Duration
    let logger: Logger

    func run() async throws {
        var sinceRetention = Duration.zero
        var sinceAutoscale = Duration.zero
        let tick = min(syncEvery ?? retentionEvery, retentionEvery, autoscaleEvery)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await gracefulShutdown(after: tick)
            } catch {
                break
            }
            if syncEvery != nil { await engine.syncAll() }
            sinceAutoscale += tick
            if sinceAutoscale >= autoscaleEvery {
                sinceAutoscale = .zero
                await engine.autoscaler.scaleOnDemandStreams()
            }
            sinceRetention += tick
            if sinceRetention >= retentionEvery {
                sinceRetention = .zero
                let deleted = engine.catalog.enforceRetention()
                if deleted > 0 { logger.info("retention deleted expired segments", metadata: ["segments": "\(deleted)"]) }
            }
        }
    }
}

/// Sleeps for `duration`, or throws as soon as a graceful shutdown begins.
private func gracefulShutdown(after duration: Duration) async throws {
    try await cancelWhenGracefulShutdown {
        try await Task.sleep(for: duration)
    }
}
