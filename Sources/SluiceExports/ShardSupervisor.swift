import Logging
import SluiceEngine

/// Runs one task per readable shard of a durable consumer, the way exports and functions
/// both read a stream: a shard whose task finishes it (returns true) makes its children
/// readable, and they start; a task that fails is started again from the shard's
/// committed position after a backoff; listing the shards that fails is retried too.
/// Returns once cancelled, or once `stopping` holds and the shard tasks have returned
/// (at stop they end by themselves after committing what they finished; cancelling
/// them would lose those commits).
public struct ShardSupervisor: Sendable {
    public let consumer: DurableConsumer
    public let backoff: Backoff
    public let stopping: DeliveryReceipt
    /// Logs a failure (rate-limited by the caller): what failed, and on which shard.
    public let note: @Sendable (_ error: any Error, _ message: Logger.Message, _ shard: Int?) -> Void

    public init(consumer: DurableConsumer, backoff: Backoff, stopping: DeliveryReceipt, note: @escaping @Sendable (any Error, Logger.Message, Int?) -> Void) {
        self.consumer = consumer
        self.backoff = backoff
        self.stopping = stopping
        self.note = note
    }

    /// - Parameter shard: runs one shard until it is finished (true), or stopped or
    ///   cancelled (false); throws to be started again.
    public func run(_ shard: @escaping @Sendable (Int) async throws -> Bool) async {
        await withTaskGroup(of: Int?.self) { group in
            var running: Set<Int> = []
            var attempt = 0
            while !Task.isCancelled && !stopping.isComplete {
                do {
                    for index in try consumer.readableShards() where !running.contains(index) {
                        running.insert(index)
                        group.addTask { await self.supervise(index, shard) ? index : nil }
                    }
                    attempt = 0
                } catch {
                    note(error, "cannot list the stream's shards", nil)
                    do { try await backoff.sleep(attempt: attempt) } catch { break }
                    attempt += 1
                    continue
                }
                // A shard task returns when its shard is finished (or on cancellation).
                guard let done = await group.next() else {
                    // No shard to read (the stream is gone): look again after a while.
                    do { try await backoff.sleep(attempt: attempt) } catch { break }
                    attempt += 1
                    continue
                }
                if let index = done { running.remove(index) }
            }
            if !stopping.isComplete || Task.isCancelled { group.cancelAll() }
        }
    }

    private func supervise(_ index: Int, _ shard: @Sendable (Int) async throws -> Bool) async -> Bool {
        var attempt = 0
        while !Task.isCancelled {
            do {
                return try await shard(index)
            } catch is CancellationError {
                return false
            } catch where Task.isCancelled {
                // A call cut short by pause, rewind or stop: not a failure to report.
                return false
            } catch {
                note(error, "reading a shard failed; starting it again from its last committed position", index)
                do { try await backoff.sleep(attempt: attempt) } catch { return false }
                attempt += 1
            }
        }
        return false
    }
}
