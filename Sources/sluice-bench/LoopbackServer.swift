import Hummingbird
import Logging

/// Serves a router on 127.0.0.1 on a free port for a benchmark's stand-in.
enum LoopbackServer {
    /// - Returns: the base URL (`http://127.0.0.1:PORT`) and the task to cancel at the end.
    static func serve(_ router: Router<BasicRequestContext>, logger: Logger) async throws -> (String, Task<Void, any Error>) {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var quiet = logger
        quiet.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: quiet
        )
        let task = Task { try await app.runService() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw NotStarted() }
        return ("http://127.0.0.1:\(port)", task)
    }

    struct NotStarted: Error, CustomStringConvertible {
        var description: String { "the loopback stand-in did not start" }
    }
}
