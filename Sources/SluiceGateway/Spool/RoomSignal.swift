import Synchronization

/// Wakes every task waiting for spool room when a spool shrinks. A waiter reads the
/// generation before it checks for room and waits only while no signal has come since, so
/// a signal between its check and its wait is never missed.
final class RoomSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextId: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waits ended (timeout, cancellation) before they parked.
        var released: Set<UInt64> = []
    }

    private let state = Mutex(State())

    var generation: UInt64 { state.withLock { $0.generation } }

    /// Wakes every waiter.
    func signal() {
        let waiting = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.generation &+= 1
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Returns after a signal later than `generation`, after `timeout`, or when the task is
    /// cancelled, whichever comes first.
    func wait(after generation: UInt64, timeout: Duration) async {
        let id = state.withLock { s -> UInt64 in
            s.nextId &+= 1
            return s.nextId
        }
        let timer = Task { [self] in
            do { try await Task.sleep(for: timeout) } catch { return }
            release(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.generation != generation || s.released.remove(id) != nil { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            release(id)
        }
        timer.cancel()
        await timer.value
        _ = state.withLock { $0.released.remove(id) }
    }

    /// Ends wait `id`: resumes it if parked, else marks it so it does not park.
    private func release(_ id: UInt64) {
        let parked = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let continuation = s.waiters.removeValue(forKey: id) { return continuation }
            s.released.insert(id)
            return nil
        }
        parked?.resume()
    }
}
