import Synchronization

/// A counting semaphore for tasks: `acquire` suspends (without blocking a thread) while
/// all permits are taken; waiters get permits in arrival order.
final class AsyncSemaphore: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(_ permits: Int) {
        state = Mutex(State(available: max(1, permits)))
    }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { s -> Bool in
                if s.available == 0 {
                    s.waiters.append(continuation)
                    return false
                }
                s.available -= 1
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.available += 1
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}

/// A lock for tasks: held across suspension points (an fsync, a network call), which
/// `Mutex` must not be. Waiters get it in arrival order, which is what keeps a shard's
/// records in order.
final class AsyncLock: Sendable {
    private let semaphore = AsyncSemaphore(1)

    func lock() async { await semaphore.acquire() }

    func unlock() { semaphore.release() }

    func withLock<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        await lock()
        defer { unlock() }
        return try await body()
    }
}
