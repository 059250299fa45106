import Logging
import ServiceLifecycle
import SluiceEngine

/// The engine's background work: deleting segments past retention, and with
/// `fsync = "interval"` syncing what was acknowledged since the last sync.
struct EngineMaintenanceService: Service {
    let engine: StreamEngine
    let retentionEvery: Duration
    /// nil when every append is already synced before it is acknowledged.
    let syncEvery: Duration?
    let logger: Logger

    func run() async throws {
        var sinceRetention = Duration.zero
        let tick = syncEvery.map { min($0, retentionEvery) } ?? retentionEvery
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await gracefulShutdown(after: tick)
            } catch {
                break
            }
            if syncEvery != nil { await engine.syncAll() }
            sinceRetention += tick
            if sinceRetention >= retentionEvery {
                sinceRetention = .zero
                let deleted = engine.enforceRetention()
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
