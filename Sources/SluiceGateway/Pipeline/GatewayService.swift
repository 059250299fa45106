import Logging
import ServiceLifecycle

/// Runs the gateway's spool drains (one task per shard lane, started as lanes appear) and
/// follows resharding every second. Stops after the sources (it is started before them),
/// then writes the spool cursors.
public struct GatewayService: Service {
    let gateway: Gateway
    let streams: [String]

    public init(gateway: Gateway, streams: [String]) {
        self.gateway = gateway
        self.streams = streams
    }

    public func run() async throws {
        // Usually prepared already (sluiced does it before it reports ready); opening
        // lanes twice is harmless.
        await gateway.prepare(streams: streams)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    await gateway.refreshAll()
                }
            }
            group.addTask { await gateway.runDrains() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await gateway.shutdown()
    }
}
