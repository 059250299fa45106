import FoundationEssentials
import Glibc
import SluiceEngine
import SluiceKinesis
import SluiceStorage

/// Builds Lambda's Kinesis event (FUNCTIONS.md, "The event") by hand: a batch of 10,000
/// records is encoded once per attempt, and an encoder would cost more than the handler.
public struct KinesisEvent: Sendable {
    /// A tumbling window's part of the event.
    public struct Window: Sendable, Equatable {
        public var startMillis: Int64
        public var endMillis: Int64
        /// The state the handler returned last in this window (`{}` at its start), as JSON.
        public var state: [UInt8]
        public var isFinalInvokeForWindow = false
        public var isWindowTerminatedEarly = false
    }

    let settings: FunctionSettings
    /// What a record with an empty key and no data adds (its fields, the ARNs, the
    /// sequence number twice), with room for longer timestamps and a comma.
    private var fixedBytes: Int

    public init(settings: FunctionSettings) {
        self.settings = settings
        fixedBytes = 0
        let empty = StoredRecord(offset: 0, timestampMillis: 0, partitionKey: "", data: [])
        fixedBytes = encode(shardIndex: 0, records: [empty]).count - encode(shardIndex: 0, records: []).count + 32
    }

    /// What a record adds to the event besides its base64 data. Keeps a batch under 6 MiB.
    public func overhead(of record: StoredRecord) -> Int {
        fixedBytes + JSONText.quoted(record.partitionKey).utf8.count
    }

    /// The event's size for one record, before it is built.
    public func size(of record: StoredRecord) -> Int {
        (record.data.count + 2) / 3 * 4 + overhead(of: record)
    }

    public func encode(shardIndex: Int, records: some Collection<StoredRecord>, window: Window? = nil) -> [UInt8] {
        let shardId = ShardID.string(shardIndex)
        let arn = JSONText.quoted(settings.streamArn)
        let tail = ",\"eventSource\":\"aws:kinesis\",\"eventVersion\":\"1.0\",\"eventID\":\"\(shardId):"
        let identity = "\",\"eventName\":\"aws:kinesis:record\",\"invokeIdentityArn\":\(JSONText.quoted(settings.invokeIdentityArn)),"
            + "\"awsRegion\":\(JSONText.quoted(settings.region)),\"eventSourceARN\":\(arn)}"
        var out: [UInt8] = []
        out.reserveCapacity(records.reduce(64) { $0 + size(of: $1) })
        out += Array("{\"Records\":[".utf8)
        var first = true
        for record in records {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            let sequence = SequenceNumber(shardIndex: shardIndex, offset: record.offset).description
            out += Array("{\"kinesis\":{\"kinesisSchemaVersion\":\"1.0\",\"partitionKey\":\(JSONText.quoted(record.partitionKey)),\"sequenceNumber\":\"\(sequence)\",\"data\":\"".utf8)
            out += Array(Data(record.data).base64EncodedData())
            out += Array("\",\"approximateArrivalTimestamp\":\(Self.seconds(record.timestampMillis))}\(tail)\(sequence)\(identity)".utf8)
        }
        out.append(UInt8(ascii: "]"))
        if let window {
            out += Array(",\"window\":{\"start\":\"\(ISOTime.string(millis: window.startMillis, fraction: false))\",\"end\":\"\(ISOTime.string(millis: window.endMillis, fraction: false))\"},\"state\":".utf8)
            out += window.state
            out += Array(",\"shardId\":\"\(shardId)\",\"eventSourceARN\":\(arn),\"isFinalInvokeForWindow\":\(window.isFinalInvokeForWindow),\"isWindowTerminatedEarly\":\(window.isWindowTerminatedEarly)".utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Unix seconds with milliseconds, as Lambda writes `approximateArrivalTimestamp`.
    static func seconds(_ millis: Int64) -> String {
        let whole = millis / 1000, fraction = millis % 1000
        guard millis >= 0 else { return "\(Double(millis) / 1000)" }
        return "\(whole).\(fraction < 10 ? "00" : fraction < 100 ? "0" : "")\(fraction)"
    }
}

/// UTC timestamps as AWS writes them in JSON: `2019-11-14T00:38:04.835Z`.
enum ISOTime {
    /// Years 1 to 9999: what ISO 8601 writes; a time from a damaged log outside them is
    /// clamped, never a trap.
    static let range: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    static func string(millis unclamped: Int64, fraction: Bool = true) -> String {
        let millis = min(max(unclamped, range.lowerBound), range.upperBound)
        var time = time_t(millis >= 0 ? millis / 1000 : (millis - 999) / 1000)
        var parts = tm()
        gmtime_r(&time, &parts)
        let date = (Int(parts.tm_year) + 1900).zeroPadded(4) + "-" + (Int(parts.tm_mon) + 1).zeroPadded(2) + "-" + Int(parts.tm_mday).zeroPadded(2)
        let base = date + "T" + Int(parts.tm_hour).zeroPadded(2) + ":" + Int(parts.tm_min).zeroPadded(2) + ":" + Int(parts.tm_sec).zeroPadded(2)
        guard fraction else { return base + "Z" }
        let ms = ((millis % 1000) + 1000) % 1000
        return base + "." + Int(ms).zeroPadded(3) + "Z"
    }
}
