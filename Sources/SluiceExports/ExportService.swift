import Logging
import ServiceLifecycle

/// Runs every configured export, one task each, until graceful shutdown. Started after
/// the engine and before the sources, stopped before the engine closes: a batch in flight
/// at stop is not committed and goes again at the next start.
public struct ExportService: Service {
    let exports: [Export]

    public init(exports: [Export]) {
        self.exports = exports
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for export in exports {
                group.addTask { await export.run() }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }
}
