import Logging
import ServiceLifecycle

/// Runs every configured export, one task each, until graceful shutdown. Started after
/// the engine and before the sources, stopped before the engine closes. At stop each
/// export writes out what its destination buffers and commits it (within 10 s); a batch
/// still in flight after that goes again at the next start.
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
            await withTaskGroup(of: Void.self) { finishing in
                for export in exports { finishing.addTask { await export.finish(within: .seconds(10)) } }
            }
            group.cancelAll()
        }
    }
}
