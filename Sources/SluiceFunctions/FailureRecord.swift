import FoundationEssentials
import SluiceEngine
import SluiceKinesis
import SluiceStorage

/// Lambda's invocation record for a Kinesis batch given up on (FUNCTIONS.md, "The failure
/// record"): what `on_failure` receives, metadata only, as Lambda sends it to SQS or SNS.
struct FailureRecord {
    enum Condition: String {
        case retryAttemptsExhausted = "RetryAttemptsExhausted"
        case recordAgeExceeded = "RecordAgeExceeded"
    }

    var condition: Condition
    var invokeCount: Int
    var statusCode: Int
    /// "Unhandled" for a failed run; nil when no run failed (age, partial answers).
    var functionError: String?
    var shardIndex: Int
    var records: ArraySlice<StoredRecord>
    var nowMillis: Int64

    func encode(settings: FunctionSettings) -> [UInt8] {
        let first = records.first!, last = records.last!
        var response = "{\"statusCode\":\(statusCode),\"executedVersion\":\"$LATEST\""
        if let functionError { response += ",\"functionError\":\(JSONText.quoted(functionError))" }
        response += "}"
        let text = "{\"requestContext\":{\"requestId\":\"\(UUID().uuidString.lowercased())\",\"functionArn\":\(JSONText.quoted(settings.functionArn)),"
            + "\"condition\":\"\(condition.rawValue)\",\"approximateInvokeCount\":\(invokeCount)},"
            + "\"responseContext\":\(response),\"version\":\"1.0\",\"timestamp\":\"\(ISOTime.string(millis: nowMillis))\","
            + "\"KinesisBatchInfo\":{\"shardId\":\"\(ShardID.string(shardIndex))\","
            + "\"startSequenceNumber\":\"\(SequenceNumber(shardIndex: shardIndex, offset: first.offset))\","
            + "\"endSequenceNumber\":\"\(SequenceNumber(shardIndex: shardIndex, offset: last.offset))\","
            + "\"approximateArrivalOfFirstRecord\":\"\(ISOTime.string(millis: first.timestampMillis))\","
            + "\"approximateArrivalOfLastRecord\":\"\(ISOTime.string(millis: last.timestampMillis))\","
            + "\"batchSize\":\(records.count),\"streamArn\":\(JSONText.quoted(settings.streamArn))}}"
        return Array(text.utf8)
    }
}
