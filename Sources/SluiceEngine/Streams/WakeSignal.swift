import Synchronization

/// A wake-up flag: `signal()` wakes one `wait`, or the next one if nobody waits yet, so a
/// signal sent between a check and the wait is never lost.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let waiter = s.waiter {
                s.waiter = nil
                return waiter
            }
            s.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns after a signal or after `timeout`, whichever comes first.
    public func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = self.state.withLock { s -> Bool in
                        if s.pending {
                            s.pending = false
                            return true
                        }
                        s.waiter?.resume()
                        s.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.signal()
            }
            await group.next()
            group.cancelAll()
        }
        // The timer's signal may have been left pending after the real one woke us: a
        // spurious wake-up at worst, which every caller re-checks for.
    }
}
