import Metrics

/// A shard's metrics, named as Kinesis' CloudWatch metrics (`.` becomes `_` in the
/// Prometheus exposition) and labelled by stream and shard. Made once per shard so the
/// hot path only increments.
struct ShardMetrics: Sendable {
    let incomingBytes: Counter
    let incomingRecords: Counter
    let writeThrottled: Counter
    let readThrottled: Counter
    let outgoingBytes: Counter
    let outgoingRecords: Counter
    let iteratorAge: Gauge

    init(stream: String, shard: String) {
        let dimensions = [("stream", stream), ("shard", shard)]
        incomingBytes = Counter(label: "IncomingBytes", dimensions: dimensions)
        incomingRecords = Counter(label: "IncomingRecords", dimensions: dimensions)
        writeThrottled = Counter(label: "WriteProvisionedThroughputExceeded", dimensions: dimensions)
        readThrottled = Counter(label: "ReadProvisionedThroughputExceeded", dimensions: dimensions)
        outgoingBytes = Counter(label: "GetRecords.Bytes", dimensions: dimensions)
        outgoingRecords = Counter(label: "GetRecords.Records", dimensions: dimensions)
        iteratorAge = Gauge(label: "GetRecords.IteratorAgeMilliseconds", dimensions: dimensions)
    }
}
