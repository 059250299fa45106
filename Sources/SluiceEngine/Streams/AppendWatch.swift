/// A reader's subscription to one shard's appends: `wait` returns when records were
/// appended (or the shard was closed by resharding) since the last wait, so a caught-up
/// reader hands new records on as soon as they are durable instead of polling.
public final class AppendWatch: Sendable {
    private let signal = WakeSignal()
    private let shard: ShardHandle

    init(_ shard: ShardHandle) {
        self.shard = shard
        shard.watchAppends(signal)
    }

    /// Returns after an append, after `timeout`, or when the task is cancelled.
    public func wait(timeout: Duration) async {
        await signal.wait(timeout: timeout)
    }

    /// Stops watching; call once the reader is done with the shard.
    public func close() {
        shard.unwatchAppends(signal)
    }
}
