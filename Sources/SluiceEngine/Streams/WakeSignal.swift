import Synchronization

/// A wake-up flag: `signal()` wakes one `wait`, or the next one if nobody waits yet, so a
/// signal sent between a check and the wait is never lost.
///
/// A wait also ends at its timeout and when its task is cancelled; neither leaves a
/// signal pending. (An earlier version's timer signalled even when cancelled, so its
/// signal stayed pending, woke the next wait at once, whose timer did the same: every
/// wait after the first wake-up returned at once and an idle file source spun.)
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var lastId: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let waiter = s.waiter {
                s.waiter = nil
                return waiter.continuation
            }
            s.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns after a signal, after `timeout` or when the task is cancelled, whichever
    /// comes first.
    public func wait(timeout: Duration) async {
        let id = state.withLock { s -> UInt64 in
            s.lastId += 1
            return s.lastId
        }
        let timer = Task { [self] in
            do { try await Task.sleep(for: timeout) } catch { return }
            release(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                if Task.isCancelled {
                    continuation.resume()
                    return
                }
                let (ready, displaced) = state.withLock { s -> (Bool, CheckedContinuation<Void, Never>?) in
                    if s.pending {
                        s.pending = false
                        return (true, nil)
                    }
                    let displaced = s.waiter?.continuation
                    s.waiter = (id, continuation)
                    return (false, displaced)
                }
                // One waiter at a time is the contract; a second one releases the first.
                displaced?.resume()
                if ready { continuation.resume() }
            }
        } onCancel: {
            release(id)
        }
        timer.cancel()
    }

    /// Ends wait `id` if it is still parked, leaving nothing pending.
    private func release(_ id: UInt64) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let waiter = s.waiter, waiter.id == id else { return nil }
            s.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }
}
