import SluiceExports

/// One `[[functions]]` entry's settings, named and bounded as Lambda's event source
/// mapping for Kinesis names and bounds them (FUNCTIONS.md). The starting position
/// belongs to the durable consumer and is given where it is opened.
public struct FunctionSettings: Sendable, Equatable {
    /// Where a batch goes: a program run per batch, or an HTTP handler POSTed per batch.
    public enum Handler: Sendable, Equatable, CustomStringConvertible {
        case command([String])
        case url(String)

        public var description: String {
            switch self {
            case .command(let words): "command \(words[0])"
            case .url(let url): "url \(url)"
            }
        }
    }

    public var name: String
    public var stream: String
    public var handler: Handler
    /// BatchSize: records per invocation (1...10,000).
    public var batchSize = 100
    /// Lambda's 6 MB invocation payload: a batch's event stays under it.
    public var maxEventBytes = 6 << 20
    /// MaximumBatchingWindowInSeconds: how long a lane gathers before it invokes with
    /// fewer than `batchSize` records.
    public var batchingWindow: Duration = .zero
    /// ParallelizationFactor: lanes per shard (one partition key always in one lane).
    public var parallelizationFactor = 1
    public var bisectBatchOnFunctionError = false
    /// MaximumRetryAttempts: -1 retries until the records expire from the stream.
    public var maximumRetryAttempts = -1
    /// MaximumRecordAgeInSeconds: -1 keeps trying whatever the age.
    public var maximumRecordAgeSeconds = -1
    /// The local stream that receives Lambda's failure record for records given up on.
    public var onFailureStream: String?
    /// FunctionResponseTypes = ["ReportBatchItemFailures"].
    public var reportBatchItemFailures = false
    /// FilterCriteria: a record runs when it matches any pattern (all when none).
    public var filters: [FilterPattern] = []
    /// TumblingWindowInSeconds: 0 for none.
    public var tumblingWindowSeconds = 0
    /// Lambda's function timeout (3 s by default there too).
    public var timeout: Duration = .seconds(3)
    /// The handler's environment (a command's whole environment, with Lambda's names added).
    public var environment: [String: String] = [:]
    /// ReservedConcurrentExecutions: invocations at once across shards and lanes; nil for
    /// one per lane. An invocation that must wait for a slot counts as a throttle.
    public var reservedConcurrency: Int?
    /// Between attempts of a failed batch.
    public var retryBackoff = Backoff(base: .seconds(1), cap: .seconds(30))
    /// Region and account of the ARNs in events and failure records.
    public var region = "us-east-1"
    public var accountId = "000000000000"

    public init(name: String, stream: String, handler: Handler) {
        self.name = name
        self.stream = stream
        self.handler = handler
    }

    public var functionArn: String { "arn:aws:lambda:\(region):\(accountId):function:\(name)" }
    public var streamArn: String { "arn:aws:kinesis:\(region):\(accountId):stream/\(stream)" }
    public var invokeIdentityArn: String { "arn:aws:iam::\(accountId):role/sluiced" }
    /// The durable consumer that keeps the function's position.
    public var consumerName: String { "function.\(name)" }
}
