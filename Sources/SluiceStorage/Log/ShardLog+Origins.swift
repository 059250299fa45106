extension ShardLog {
    /// The highest sequence each of `producers` has among the records from `offset` on:
    /// what a restarted producer already stored in this log (RecordOrigin). Reads in pages.
    public func highWater(of producers: Set<UInt64>, from offset: UInt64) throws -> [UInt64: UInt64] {
        var found: [UInt64: UInt64] = [:]
        guard !producers.isEmpty else { return found }
        var next = offset
        while true {
            let page = try read(from: next, maxRecords: 10_000, maxBytes: 16 << 20)
            for record in page.records {
                guard let origin = record.origin, producers.contains(origin.producer) else { continue }
                found[origin.producer] = max(found[origin.producer] ?? 0, origin.sequence)
            }
            guard !page.records.isEmpty else { return found }
            next = page.nextOffset
        }
    }
}
