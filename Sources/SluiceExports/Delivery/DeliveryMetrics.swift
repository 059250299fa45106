import Metrics
import SluiceStorage

/// Firehose's CloudWatch metric names for one delivery stream (the export), so dashboards
/// built for Firehose read the same figures: `DataReadFromKinesisStream.Records/Bytes`,
/// `<stem>.Records/Bytes/Success/DataFreshness` (stem `DeliveryToS3`,
/// `DeliveryToHttpEndpoint` or `DeliveryToFiles`), `ExecuteProcessing.Success/Duration`,
/// `SucceedProcessing.Records`, and `DeliveryToErrorOutput.Records` for what failed.
struct DeliveryMetrics {
    let readRecords: Counter
    let readBytes: Counter
    let records: Counter
    let bytes: Counter
    /// Firehose's `.Success` is the share of attempts that succeeded; as a counter it is
    /// the number of successful deliveries (objects or requests), beside `.Failed`.
    let success: Counter
    let failedRecords: Counter
    /// Seconds between the oldest record's arrival and its delivery (Firehose's unit).
    let freshness: Gauge
    let processingSuccess: Counter
    let processingFailure: Counter
    let processingDuration: Timer
    let processedRecords: Counter

    init(stem: String, deliveryStream: String) {
        let dimensions = [("delivery_stream", deliveryStream)]
        readRecords = Counter(label: "DataReadFromKinesisStream.Records", dimensions: dimensions)
        readBytes = Counter(label: "DataReadFromKinesisStream.Bytes", dimensions: dimensions)
        records = Counter(label: "\(stem).Records", dimensions: dimensions)
        bytes = Counter(label: "\(stem).Bytes", dimensions: dimensions)
        success = Counter(label: "\(stem).Success", dimensions: dimensions)
        failedRecords = Counter(label: "DeliveryToErrorOutput.Records", dimensions: dimensions)
        freshness = Gauge(label: "\(stem).DataFreshness", dimensions: dimensions)
        processingSuccess = Counter(label: "ExecuteProcessing.Success", dimensions: dimensions)
        processingFailure = Counter(label: "ExecuteProcessing.Failed", dimensions: dimensions)
        processingDuration = Timer(label: "ExecuteProcessing.Duration", dimensions: dimensions)
        processedRecords = Counter(label: "SucceedProcessing.Records", dimensions: dimensions)
    }

    func read(_ records: [BufferedRecord]) {
        readRecords.increment(by: records.count)
        readBytes.increment(by: records.reduce(0) { $0 + $1.record.data.count })
    }

    func delivered(records count: Int, bytes byteCount: Int, failed: Int, oldestArrival: Int64, now: Int64) {
        records.increment(by: count)
        bytes.increment(by: byteCount)
        if count > 0 { success.increment() }
        if failed > 0 { failedRecords.increment(by: failed) }
        freshness.record(Double(max(0, now - oldestArrival)) / 1000)
    }

    func processed(_ outcome: RecordTransformer.Outcome) {
        if outcome.invocationSucceeded { processingSuccess.increment() } else { processingFailure.increment() }
        processingDuration.recordNanoseconds(outcome.durationNanos)
        processedRecords.increment(by: outcome.transformed.count)
    }
}
