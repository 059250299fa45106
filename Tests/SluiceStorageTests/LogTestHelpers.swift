import SluiceStorage
import SluiceTestSupport

/// `count` records with recognisable contents: key `k<n % keys>`, data `record-<n>`.
func records(_ range: Range<Int>, keys: Int = 3, padding: Int = 0) -> [LogRecord] {
    range.map { n in
        LogRecord(partitionKey: "k\(n % keys)", data: Array("record-\(n)".utf8) + [UInt8](repeating: 0x2E, count: padding))
    }
}

/// Everything in the log from its trim horizon, read in pages of `page` records.
func readAll(_ log: ShardLog, from: UInt64 = 0, page: Int = 7) throws -> [StoredRecord] {
    var all: [StoredRecord] = []
    var next = from
    while true {
        let result = try log.read(from: next, maxRecords: page, maxBytes: 1 << 30)
        all += result.records
        if result.records.isEmpty { return all }
        next = result.nextOffset
    }
}

func shardDirectory(_ tmp: TemporaryDirectory) -> String { tmp.file("shardId-000000000000") }

func segmentFiles(_ directory: String) -> [String] {
    RawFile.list(directory).filter { $0.hasSuffix(".seg") }.map { directory + "/" + $0 }
}
