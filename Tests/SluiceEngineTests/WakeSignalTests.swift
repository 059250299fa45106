import Testing
@testable import SluiceEngine

/// A wake-up wakes one wait; after it, waits sleep until their timeout again. (A cancelled
/// timer once left its signal pending, so every wait after the first wake-up returned at
/// once and an idle file source spun.)
@Suite struct WakeSignalTests {
    @Test func aSignalWakesOneWaitAndLaterWaitsSleepAgain() async {
        let signal = WakeSignal()
        signal.signal()
        let clock = ContinuousClock()
        let woken = await clock.measure { await signal.wait(timeout: .seconds(60)) }
        #expect(woken < .seconds(30), "a pending signal wakes the wait at once")
        // Ten waits of 30 ms with no signal: each must run out its timeout (a lower bound,
        // so a loaded machine cannot make it fail; the bug made them all return at once).
        let idle = await clock.measure {
            for _ in 0..<10 { await signal.wait(timeout: .milliseconds(30)) }
        }
        #expect(idle >= .milliseconds(280), "waits returned early: \(idle)")
    }

    @Test func aSignalDuringAWaitWakesIt() async {
        let signal = WakeSignal()
        let clock = ContinuousClock()
        let start = clock.now
        let waiter = Task { await signal.wait(timeout: .seconds(60)) }
        // The waiter may not be parked yet: a signal sent before it parks stays pending.
        signal.signal()
        await waiter.value
        #expect(clock.now - start < .seconds(30))
    }
}

extension WakeSignalTests {
    /// A graceful stop cancels the tasks that wait: a cancelled wait ends at once, and
    /// leaves nothing pending for the next one.
    @Test func aCancelledWaitEndsAtOnceAndLeavesNothingPending() async {
        let signal = WakeSignal()
        let clock = ContinuousClock()
        let start = clock.now
        let waiter = Task { await signal.wait(timeout: .seconds(600)) }
        waiter.cancel()
        await waiter.value
        #expect(clock.now - start < .seconds(300))
        let next = await clock.measure { await signal.wait(timeout: .milliseconds(50)) }
        #expect(next >= .milliseconds(40), "a cancelled wait left a signal pending")
    }
}
