import Synchronization

/// Completes once a destination has a batch durably (or fails for good): what an export
/// waits on before it commits the batch's position. Buffering destinations hand one out
/// per batch at once and complete it when the object holding the batch is written.
public final class DeliveryReceipt: Sendable {
    private struct State {
        var outcome: Result<Void, any Error>?
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var lastId: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// A receipt that is complete from the start (a destination that delivered already).
    public static func delivered() -> DeliveryReceipt {
        let receipt = DeliveryReceipt()
        receipt.complete(.success(()))
        return receipt
    }

    public var isComplete: Bool { state.withLock { $0.outcome != nil } }

    /// Completes the receipt; later calls change nothing.
    public func complete(_ outcome: Result<Void, any Error>) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard s.outcome == nil else { return [] }
            s.outcome = outcome
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until complete, then returns or rethrows the outcome; throws
    /// CancellationError when the task is cancelled first.
    public func wait() async throws {
        let id = state.withLock { s -> UInt64 in
            s.lastId += 1
            return s.lastId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    if s.outcome != nil || Task.isCancelled { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
        guard let outcome = state.withLock({ $0.outcome }) else { throw CancellationError() }
        try outcome.get()
    }
}
