import Testing
@testable import SluiceGateway

@Suite struct RoomSignalTests {
    @Test("one signal wakes every waiter, including one that read the generation before the signal and parks after it")
    func wakesEveryWaiter() async {
        let signal = RoomSignal()
        let before = signal.generation
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { await signal.wait(after: before, timeout: .seconds(60)) } }
            signal.signal()
            // Read before the signal, parked after it: returns at once.
            group.addTask { await signal.wait(after: before, timeout: .seconds(60)) }
        }
        #expect(ContinuousClock.now - start < .seconds(30), "no waiter missed the signal (the timeout is 60 s)")
        #expect(signal.generation == before + 1)
    }

    @Test("without a signal a wait ends at its timeout, and a cancelled wait ends at once")
    func timeoutAndCancellation() async {
        let signal = RoomSignal()
        let start = ContinuousClock.now
        await signal.wait(after: signal.generation, timeout: .milliseconds(20))
        #expect(ContinuousClock.now - start >= .milliseconds(20))
        let waiting = Task { await signal.wait(after: signal.generation, timeout: .seconds(60)) }
        waiting.cancel()
        let cancelledAt = ContinuousClock.now
        await waiting.value
        #expect(ContinuousClock.now - cancelledAt < .seconds(30))
    }
}
