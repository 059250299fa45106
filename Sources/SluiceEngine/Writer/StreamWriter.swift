import CoreMetrics
import Logging
import SluiceStorage
import Synchronization

/// The engine's write side: validates records by Kinesis' rules, routes them by hash key
/// (or takes the gateway's route while its map is current), meters each shard to its
/// write limits, appends per shard in parallel and enforces each stream's size bound
/// (`+StorageBound`).
public final class StreamWriter: Sendable {
    let context: EngineContext
    let catalog: StreamCatalog
    let factory: ShardFactory
    /// Size bounds and their counters, by stream name (`+StorageBound`).
    let storageByStream = Mutex<[String: StreamStorage]>([:])

    init(context: EngineContext, catalog: StreamCatalog, factory: ShardFactory) {
        self.context = context
        self.catalog = catalog
        self.factory = factory
    }

    /// Applies new per-shard write limits to every shard, now and for shards created later.
    public func updateWriteLimits(_ limits: StreamEngine.WriteLimits) {
        factory.writeLimits = limits
        for (_, shard) in catalog.everyShard {
            shard.limiter.update(bytesPerSecond: limits.bytesPerSecond, recordsPerSecond: limits.recordsPerSecond, enabled: limits.enabled)
        }
    }

    /// Checks a record against Kinesis' rules and returns the hash key it routes by.
    func validate(_ record: PutRecordInput) throws -> UInt128 {
        try validateKeyAndSize(record)
        return try hashKey(of: record)
    }

    /// The partition key's length and the record's size, by Kinesis' rules.
    func validateKeyAndSize(_ record: PutRecordInput) throws {
        // Characters are counted only when the UTF-8 length leaves doubt (counting grapheme
        // clusters costs more than the MD5 on a short key).
        let utf8Length = record.partitionKey.utf8.count
        let keyLength = utf8Length <= KinesisLimits.maxPartitionKeyLength ? utf8Length : record.partitionKey.count
        if keyLength < 1 { throw EngineError.length(field: "partitionKey", value: record.partitionKey, min: 1) }
        if keyLength > KinesisLimits.maxPartitionKeyLength {
            throw EngineError.length(field: "partitionKey", value: record.partitionKey, max: KinesisLimits.maxPartitionKeyLength)
        }
        try validateSize(record)
    }

    /// The hash key a record routes by: its explicit hash key, else its partition key's MD5.
    func hashKey(of record: PutRecordInput) throws -> UInt128 {
        if let explicit = record.explicitHashKey {
            guard let value = HashKey.parse(explicit) else {
                throw EngineError(.invalidArgument, "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was \(explicit)")
            }
            return value
        }
        return HashKey.of(partitionKey: record.partitionKey)
    }

    /// The data-size rules (the key is known valid: it equals the previous record's).
    func validateSize(_ record: PutRecordInput) throws {
        if record.data.count > KinesisLimits.maxRecordSize {
            throw EngineError(.validation, "1 validation error detected: Value at 'data' failed to satisfy constraint: Member must have length less than or equal to \(KinesisLimits.maxRecordSize)")
        }
        let size = record.size
        if size > KinesisLimits.maxRecordSize {
            throw EngineError(.invalidArgument, "Record size \(size) bytes (data plus partition key) exceeds the maximum of \(KinesisLimits.maxRecordSize) bytes.")
        }
    }

    /// PutRecord: stores one record or throws (ProvisionedThroughputExceededException when
    /// its shard is over its write limit).
    public func putRecord(stream name: String, record: PutRecordInput) async throws -> (shardId: String, sequenceNumber: String) {
        let outcome = try await putRecords(stream: name, records: [record])[0]
        switch outcome {
        case .stored(let sequence): return (ShardID.string(sequence.shardIndex), sequence.description)
        case .failed(let error): throw error
        }
    }

    /// PutRecords: stores what it can and says per record what happened. A request-level
    /// problem (unknown stream, an invalid record) throws and stores nothing.
    public func putRecords(stream name: String, records: [PutRecordInput]) async throws -> [PutRecordOutcome] {
        guard !records.isEmpty else {
            throw EngineError.length(field: "records", value: "[]", min: 1)
        }
        guard records.count <= KinesisLimits.maxRecordsPerPutRecords else {
            throw EngineError(.validation, "1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length less than or equal to \(KinesisLimits.maxRecordsPerPutRecords)")
        }
        return try await store(stream: name, records: records)
    }

    /// Stores records from a producer inside the process (the gateway): like PutRecords,
    /// including validation and per-shard write limits, but without PutRecords' 500-record
    /// cap, so one append (one fsync) per shard can carry a whole batch. Keep batches
    /// under a few MiB: each shard's share becomes one frame.
    /// With `route`, the records are one shard's, routed by the caller: while that route's
    /// map is current no key is hashed again.
    public func ingest(stream name: String, records: [PutRecordInput], routedTo route: ShardRoute? = nil) async throws -> [PutRecordOutcome] {
        guard !records.isEmpty else { return [] }
        let handle = try catalog.stream(name)
        if let route, let shard = handle.shard(routedBy: route) {
            for record in records {
                try validateKeyAndSize(record)
                if record.explicitHashKey != nil { _ = try hashKey(of: record) }
            }
            return await store(records, in: handle, groups: [route.index: (shard, Array(records.indices))]) { k in
                try? self.hashKey(of: records[k])
            }
        }
        return try await store(stream: name, records: records)
    }

    private func store(stream name: String, records: [PutRecordInput]) async throws -> [PutRecordOutcome] {
        // A batch from one source often repeats one key: hash each run of it once.
        var keys: [UInt128] = []
        keys.reserveCapacity(records.count)
        var previous: (key: String, hash: UInt128)?
        for record in records {
            if record.explicitHashKey == nil, let p = previous, p.key == record.partitionKey {
                try validateSize(record)
                keys.append(p.hash)
                continue
            }
            let hash = try validate(record)
            keys.append(hash)
            previous = record.explicitHashKey == nil ? (record.partitionKey, hash) : nil
        }
        let hashKeys = keys
        let handle = try catalog.stream(name)
        // Group by shard, keeping each shard's records in request order.
        var groups: [Int: (shard: ShardHandle, indexes: [Int])] = [:]
        for (k, hashKey) in hashKeys.enumerated() {
            guard let shard = handle.route(hashKey) else {
                throw EngineError(.internalFailure, "No open shard of stream \(name) owns hash key \(hashKey).")
            }
            groups[shard.index, default: (shard, [])].indexes.append(k)
        }
        return await store(records, in: handle, groups: groups) { hashKeys[$0] }
    }

    /// Meters and appends records grouped by shard; `hashKey` gives a record's hash key for
    /// a shard that closes under the append (its records then go to the children).
    private func store(
        _ records: [PutRecordInput], in handle: StreamHandle, groups: [Int: (shard: ShardHandle, indexes: [Int])],
        hashKey: @escaping @Sendable (Int) -> UInt128?
    ) async -> [PutRecordOutcome] {
        let name = handle.name
        if let full = storageRefusal(handle, records: records.count) {
            return records.map { _ in .failed(full) }
        }
        var outcomes = [PutRecordOutcome?](repeating: nil, count: records.count)
        var admittedGroups: [(shard: ShardHandle, indexes: [Int])] = []
        for (_, group) in groups {
            let admitted = group.shard.limiter.admit(sizes: group.indexes.map { records[$0].size })
            let keep = Array(group.indexes.prefix(admitted))
            if admitted < group.indexes.count {
                group.shard.metrics.writeThrottled.increment(by: group.indexes.count - admitted)
                group.shard.window.add(bytes: 0, records: 0, throttled: group.indexes.count - admitted)
            }
            for k in group.indexes.dropFirst(admitted) {
                outcomes[k] = .failed(EngineError(.provisionedThroughputExceeded,
                    "Rate exceeded for shard \(group.shard.id) in stream \(name) under account \(context.accountId)."))
            }
            if !keep.isEmpty { admittedGroups.append((group.shard, keep)) }
        }
        let stored = await withTaskGroup(of: [(Int, PutRecordOutcome)].self) { tasks in
            for group in admittedGroups {
                tasks.addTask { await self.append(group.indexes, of: records, hashKey: hashKey, to: group.shard, stream: handle) }
            }
            var all: [(Int, PutRecordOutcome)] = []
            for await part in tasks { all.append(contentsOf: part) }
            return all
        }
        for (k, outcome) in stored { outcomes[k] = outcome }
        trimToStorageBound(handle)
        return outcomes.map { $0! }
    }

    /// Appends one shard's records. When resharding closed the shard after these records
    /// were routed to it, they go to the child that now owns their hash keys instead.
    private func append(
        _ indexes: [Int], of records: [PutRecordInput], hashKey: @escaping @Sendable (Int) -> UInt128?, to shard: ShardHandle, stream: StreamHandle
    ) async -> [(Int, PutRecordOutcome)] {
        // The engine's log routes by the shard, not the explicit hash key: it does not keep it.
        let batch = indexes.map { k in
            var record = records[k]
            record.explicitHashKey = nil
            return record
        }
        do {
            let result = try await shard.log.append(batch)
            shard.notifyAppend()
            let bytes = batch.reduce(0) { $0 + $1.size }
            shard.metrics.incomingRecords.increment(by: batch.count)
            shard.metrics.incomingBytes.increment(by: bytes)
            shard.window.add(bytes: bytes, records: batch.count, throttled: 0)
            return zip(indexes, result.offsets).map { k, offset in
                (k, .stored(SequenceNumber(shardIndex: shard.index, offset: offset)))
            }
        } catch let error as StorageError where error.code == .closed {
            var byChild: [Int: (ShardHandle, [Int])] = [:]
            for k in indexes {
                guard let key = hashKey(k), let child = stream.route(key) else { continue }
                byChild[child.index, default: (child, [])].1.append(k)
            }
            var outcomes: [(Int, PutRecordOutcome)] = []
            for (_, (child, childIndexes)) in byChild where child !== shard {
                outcomes += await append(childIndexes, of: records, hashKey: hashKey, to: child, stream: stream)
            }
            let failure = EngineError(.internalFailure, "Shard \(shard.id) of stream \(stream.name) closed while the request was in flight; retry it.")
            let done = Set(outcomes.map(\.0))
            return outcomes + indexes.filter { !done.contains($0) }.map { ($0, .failed(failure)) }
        } catch {
            context.failureLog.log(context.logger, .error, "append failed", metadata: ["shard": "\(shard.log.directory)", "error": "\(error)"])
            let failure = EngineError(.internalFailure, "\(error)")
            return indexes.map { ($0, .failed(failure)) }
        }
    }
}
