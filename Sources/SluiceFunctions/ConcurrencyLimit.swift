import Synchronization

/// `reserved_concurrency`: at most `slots` invocations of a function at once, across its
/// shards and lanes; the rest wait their turn (first come, first served).
final class ConcurrencyLimit: Sendable {
    private struct State {
        var free: Int
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        /// Waiters a slot was handed to, not yet awake.
        var granted: Set<UInt64> = []
        var lastId: UInt64 = 0
    }

    private let state: Mutex<State>

    init(slots: Int) {
        state = Mutex(State(free: slots))
    }

    /// Takes a slot, waiting when none is free. - Returns: whether it had to wait (a
    /// throttle). Throws `CancellationError` when cancelled while waiting.
    func acquire() async throws -> Bool {
        let id = state.withLock { s -> UInt64? in
            if s.free > 0 {
                s.free -= 1
                return nil
            }
            s.lastId += 1
            return s.lastId
        }
        guard let id else { return false }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { s -> Bool in
                    if Task.isCancelled { return true }
                    s.waiters.append((id, continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: index).continuation
            }
            waiter?.resume()
        }
        let granted = state.withLock { $0.granted.remove(id) != nil }
        guard granted else { throw CancellationError() }
        if Task.isCancelled {
            // Handed a slot just as it was cancelled: pass it on.
            release()
            throw CancellationError()
        }
        return true
    }

    /// Frees a slot: the longest waiter gets it.
    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.free += 1
                return nil
            }
            let waiter = s.waiters.removeFirst()
            s.granted.insert(waiter.id)
            return waiter.continuation
        }
        next?.resume()
    }
}
