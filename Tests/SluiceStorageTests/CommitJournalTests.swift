import Crypto
import Synchronization
import Testing
import SluiceTestSupport
@testable import SluiceStorage

/// The commit journal: acknowledged appends survive a power cut that takes back every
/// write no fsync covered, because the journal holds them.
@Suite struct CommitJournalTests {
    let fs = PowerLossFileSystem()

    func shardPath(_ tmp: TemporaryDirectory, _ k: Int) -> String {
        tmp.file("streams/s/shardId-00000000000\(k)")
    }

    func openLogs(_ tmp: TemporaryDirectory, journal: CommitJournal?, shards: Int = 4, keys: (any KeyProvider)? = nil, keyId: String? = nil) throws -> [ShardLog] {
        try (0..<shards).map { k in
            let log = try ShardLog(directory: shardPath(tmp, k), fileSystem: fs, keys: keys, journal: journal)
            try log.setEncryption(keyId: keyId)
            return log
        }
    }

    /// `perShard` single-record appends to every log at once.
    func appendConcurrently(_ logs: [ShardLog], perShard: Int, padding: Int = 0) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for log in logs {
                for writer in 0..<4 {
                    group.addTask {
                        for n in stride(from: writer, to: perShard, by: 4) { _ = try await log.append(records(n..<n + 1, padding: padding)) }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func acknowledgedAppendsSurviveAPowerCutThroughReplay() async throws {
        let tmp = TemporaryDirectory()
        let journal = try CommitJournal(dataDirectory: tmp.path, fileSystem: fs)
        let logs = try openLogs(tmp, journal: journal)
        try await appendConcurrently(logs, perShard: 200)
        // The segment files were never fsynced: only the journal holds the appends.
        #expect(fs.unsyncedWrites > 0)
        try fs.cutPower()

        // Without the journal the power cut took the records back…
        let lost = try openLogs(tmp, journal: nil)
        #expect(lost.map(\.endOffset).reduce(0, +) < 800)
        // …with it, every acknowledged record is back, in order, in every shard.
        let reopened = try CommitJournal(dataDirectory: tmp.path, fileSystem: fs)
        #expect(reopened.replayReport.writes > 0)
        for log in try openLogs(tmp, journal: reopened) {
            let all = try readAll(log)
            #expect(all.map(\.offset) == Array(0..<200))
            #expect(Set(all.map(\.data)) == Set(records(0..<200).map(\.data)))
            #expect(log.recoveryReport.tornTails.isEmpty && log.recoveryReport.quarantined.isEmpty)
        }
    }

    @Test func oneJournalSyncCoversFlushesOfManyShards() async throws {
        let tmp = TemporaryDirectory()
        let counting = SyncCountingFileSystem()
        let journal = try CommitJournal(dataDirectory: tmp.path, fileSystem: counting)
        let logs = try (0..<8).map { try ShardLog(directory: shardPath(tmp, $0), fileSystem: counting, journal: journal) }
        counting.reset()
        try await appendConcurrently(logs, perShard: 100)
        let (journalSyncs, segmentSyncs) = counting.counts(journal: "commit.journal")
        // 800 appends in 8 shards: far fewer fsyncs than flushes; a segment is fsynced only
        // by the flush that created it.
        #expect(segmentSyncs <= 8)
        #expect(journalSyncs > 0 && journalSyncs < 800)
    }

    @Test func aFullJournalResetsAfterSyncingWhatItHeld() async throws {
        let tmp = TemporaryDirectory()
        let small = Int64(JournalFormat.headerSize) + 4 * Int64(CommitJournal.maxFlushBytes)
        let journal = try CommitJournal(dataDirectory: tmp.path, fileSystem: fs, fileBytes: small)
        let logs = try openLogs(tmp, journal: journal, shards: 2)
        // ~1 MiB of records through a 260 KiB journal: several resets.
        try await appendConcurrently(logs, perShard: 1000, padding: 500)
        #expect(try fs.readWholeFile(tmp.file("journal/commit.journal")).count == Int(small))
        try fs.cutPower()
        let reopened = try CommitJournal(dataDirectory: tmp.path, fileSystem: fs, fileBytes: small)
        for log in try openLogs(tmp, journal: reopened, shards: 2) {
            #expect(try readAll(log).map(\.offset) == Array(0..<1000))
        }
    }

    @Test func aTornLastEntryEndsTheReplay() async throws {
        let tmp = TemporaryDirectory()
        let journal = try CommitJournal(dataDirectory: tmp.path, fileSystem: fs)
        let log = try openLogs(tmp, journal: journal, shards: 1)[0]
        for n in 0..<10 { _ = try await log.append(records(n..<n + 1)) }
        // Damage the newest entry as a power cut in mid-write would.
        let path = tmp.file("journal/commit.journal")
        let bytes = try fs.readWholeFile(path)
        let generation = try #require(JournalFormat.decodeHeader(bytes))
        let entries = JournalFormat.decodeEntries(bytes, generation: generation)
        #expect(entries.count == 9)  // the first append created the segment: fsynced directly
        let lastEntrySize = JournalFormat.entrySize(entries[entries.count - 1])
        let end = JournalFormat.headerSize + entries.reduce(0) { $0 + JournalFormat.entrySize($1) }
        RawFile.flip(path, at: end - lastEntrySize / 2)
        try fs.cutPower()
        let reopened = try CommitJournal(dataDirectory: tmp.path, fileSystem: fs)
        #expect(reopened.replayReport.entries == 8)
        #expect(try readAll(try openLogs(tmp, journal: reopened, shards: 1)[0]).map(\.offset) == Array(0..<9))
    }

    @Test func encryptedFlushesLeaveNoPlaintextInTheJournal() async throws {
        let tmp = TemporaryDirectory()
        let keys = StaticKeyProvider([MasterKey(id: "k", version: 1, secret: SymmetricKey(data: [UInt8](repeating: 7, count: 32)))])
        let journal = try CommitJournal(dataDirectory: tmp.path, fileSystem: fs)
        let log = try openLogs(tmp, journal: journal, shards: 1, keys: keys, keyId: "k")[0]
        let marker = Array("PLAINTEXT-MARKER-3f9c".utf8)
        for _ in 0..<20 { _ = try await log.append([LogRecord(partitionKey: "pk", data: marker)]) }
        let journalBytes = try fs.readWholeFile(tmp.file("journal/commit.journal"))
        #expect(JournalFormat.decodeEntries(journalBytes, generation: try #require(JournalFormat.decodeHeader(journalBytes))).count == 19)  // the first created the segment
        #expect(!contains(journalBytes, marker))
        try fs.cutPower()
        let reopened = try CommitJournal(dataDirectory: tmp.path, fileSystem: fs)
        let records = try readAll(try openLogs(tmp, journal: reopened, shards: 1, keys: keys, keyId: "k")[0])
        #expect(records.count == 20 && records.allSatisfy { $0.data == marker })
    }

    @Test func aSegmentRewrappedAfterItsFramesWereJournaledStaysReadable() async throws {
        let tmp = TemporaryDirectory()
        let v1 = MasterKey(id: "k", version: 1, secret: SymmetricKey(data: [UInt8](repeating: 1, count: 32)))
        let v2 = MasterKey(id: "k", version: 2, secret: SymmetricKey(data: [UInt8](repeating: 2, count: 32)))
        let journal = try CommitJournal(dataDirectory: tmp.path, fileSystem: fs)
        let log = try openLogs(tmp, journal: journal, shards: 1, keys: StaticKeyProvider([v1]), keyId: "k")[0]
        for n in 0..<5 { _ = try await log.append(records(n..<n + 1)) }
        try await log.close()
        // `sluice keys rewrap` while the journal still holds frames, then version 1 is
        // retired: the replay must not bring the old header back.
        let both = StaticKeyProvider([v1, v2])
        #expect(try DataKeyRewrapper(fs: fs).rewrap(dataDirectory: tmp.path, keys: both).rewrapped == 1)
        let reopened = try CommitJournal(dataDirectory: tmp.path, fileSystem: fs)
        #expect(reopened.replayReport.writes == 4)  // the segment's creation never goes through the journal
        let onlyV2 = StaticKeyProvider([v2])
        #expect(try readAll(try openLogs(tmp, journal: reopened, shards: 1, keys: onlyV2, keyId: "k")[0]).map(\.offset) == Array(0..<5))
    }

    @Test func aFailedJournalSyncFailsTheRoundAndRefusesLaterCommits() async throws {
        let tmp = TemporaryDirectory()
        let faulty = FaultyFileSystem()
        let journal = try CommitJournal(dataDirectory: tmp.path, fileSystem: faulty)
        let log = try ShardLog(directory: shardPath(tmp, 0), fileSystem: faulty, journal: journal)
        let other = try ShardLog(directory: shardPath(tmp, 1), fileSystem: faulty, journal: journal)
        _ = try await log.append(records(0..<1))
        _ = try await other.append(records(0..<1))
        faulty.setFailSync(true)
        await #expect { _ = try await log.append(records(1..<2)) } throws: { ($0 as? StorageError)?.code == .io(errno: 5) }
        faulty.setFailSync(false)
        #expect(journal.failure?.code == .unavailable)
        await #expect { _ = try await other.append(records(1..<2)) } throws: { ($0 as? StorageError)?.code == .unavailable }
    }

    func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0] == first && haystack[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}

/// The real file system, counting fsyncs per file name.
final class SyncCountingFileSystem: WrappingFileSystem {
    let real = PosixFileSystem()
    let syncs = Mutex<[String: Int]>([:])

    func reset() { syncs.withLock { $0 = [:] } }

    /// Fsyncs of the file named `journal`, and of every `.seg` file.
    func counts(journal: String) -> (journal: Int, segments: Int) {
        syncs.withLock { all in
            (all.filter { $0.key.hasSuffix("/" + journal) }.values.reduce(0, +),
             all.filter { $0.key.hasSuffix(".seg") }.values.reduce(0, +))
        }
    }

    func counted(_ path: String) { syncs.withLock { $0[path, default: 0] += 1 } }

    func openFile(_ path: String, create: Bool) throws -> any RandomAccessFile {
        SyncCountingFile(try real.openFile(path, create: create), owner: self)
    }
}

final class SyncCountingFile: WrappingFile {
    let inner: any RandomAccessFile
    let owner: SyncCountingFileSystem

    init(_ inner: any RandomAccessFile, owner: SyncCountingFileSystem) {
        self.inner = inner
        self.owner = owner
    }

    func sync() throws { owner.counted(path); try inner.sync() }
    func syncData() throws { owner.counted(path); try inner.syncData() }
}
