extension ShardLog {
    /// The highest sequence each of `producers` has among the records from `offset` on:
    /// what a restarted producer already stored in this log (RecordOrigin). Reads in pages.
    public func highWater(of producers: Set<UInt64>, from offset: UInt64) throws -> [UInt64: UInt64] {
        var found: [UInt64: UInt64] = [:]
        guard !producers.isEmpty else { return found }
        try forEachOrigin(from: offset) { origin in
            if producers.contains(origin.producer) { found[origin.producer] = max(found[origin.producer] ?? 0, origin.sequence) }
        }
        return found
    }

    /// Which of `wanted` are among the records from `offset` on, by exact origin: unlike a
    /// high-water mark it cannot take a record that is not there for one that is.
    public func origins(among wanted: Set<RecordOrigin>, from offset: UInt64) throws -> Set<RecordOrigin> {
        var found: Set<RecordOrigin> = []
        guard !wanted.isEmpty else { return found }
        try forEachOrigin(from: offset) { origin in
            if wanted.contains(origin) { found.insert(origin) }
        }
        return found
    }

    /// Calls `body` with the origin of every record from `offset` on that has one, reading
    /// in pages.
    private func forEachOrigin(from offset: UInt64, _ body: (RecordOrigin) -> Void) throws {
        var next = offset
        while true {
            let page = try read(from: next, maxRecords: 10_000, maxBytes: 16 << 20)
            for record in page.records {
                if let origin = record.origin { body(origin) }
            }
            guard !page.records.isEmpty else { return }
            next = page.nextOffset
        }
    }
}
