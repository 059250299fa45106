import Logging
import ServiceLifecycle
import Synchronization

/// How a source's read loop lives under the service lifecycle: on graceful shutdown the
/// loop is asked to stop (`isStopping`) and finishes the batch in hand; a batch still
/// waiting after `grace` (stuck behind a full spool under `block`) is abandoned by
/// cancelling the loop. It was neither checkpointed nor acknowledged, so the source reads
/// it again at the next start: a clean stop either way.
public final class SourceLoop: Sendable {
    private let stopping = Atomic<Bool>(false)
    let grace: Duration

    public init(grace: Duration = .seconds(5)) {
        self.grace = grace
    }

    /// Whether graceful shutdown asked the loop to stop.
    public var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Runs `body` until it returns, throws, or is abandoned after a graceful shutdown
    /// (then `abandoned` says so to the log).
    public func run(_ body: @escaping @Sendable () async throws -> Void, abandoned: @Sendable () -> Void) async throws {
        let loop = Task { try await body() }
        try await withGracefulShutdownHandler {
            do {
                try await withTaskCancellationHandler {
                    try await loop.value
                } onCancel: {
                    loop.cancel()
                }
            } catch is CancellationError where isStopping {
                abandoned()
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            Task {
                try? await Task.sleep(for: self.grace)
                loop.cancel()
            }
        }
    }
}
