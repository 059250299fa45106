import ServiceLifecycle

/// A durable consumer's run-time side (an export, a function): runs until cancelled, and
/// at stop finishes what it has in flight within a limit.
public protocol StoppableConsumer: Sendable {
    func run() async
    func finish(within limit: Duration) async
}

extension StoppableConsumer {
    /// Runs `work` (writing out what is buffered), then waits for the running round to end
    /// by itself, for at most `limit` in all; at the limit the round is cancelled (what it
    /// had not committed runs again at the next start). Awaiting a task's value does not
    /// pass cancellation on, hence the handler.
    public func wait(for round: Task<Void, Never>?, within limit: Duration, after work: @escaping @Sendable () async -> Void = {}) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await work()
                await withTaskCancellationHandler { await round?.value } onCancel: { round?.cancel() }
            }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
    }
}

/// Runs every export or function, one task each, until graceful shutdown. Started after
/// the engine and before the sources, stopped before the engine closes. At stop each
/// finishes what is in flight and commits it (within 10 s: a buffering export writes out
/// its objects, a function lets its running batches end); what is still in flight after
/// that runs again at the next start.
public struct ConsumerService: Service {
    let consumers: [any StoppableConsumer]

    public init(_ consumers: [any StoppableConsumer]) {
        self.consumers = consumers
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for consumer in consumers {
                group.addTask { await consumer.run() }
            }
            try? await gracefulShutdown()
            await withTaskGroup(of: Void.self) { finishing in
                for consumer in consumers { finishing.addTask { await consumer.finish(within: .seconds(10)) } }
            }
            group.cancelAll()
        }
    }
}
