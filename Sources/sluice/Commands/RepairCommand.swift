import ArgumentParser
import FoundationEssentials
import SluiceEngine
import SluiceStorage

struct RepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Rebuild the metadata of quarantined streams so their records are served again (sluiced stopped).",
        discussion: """
            For each stream sluiced quarantines because its stream.json is missing, unreadable or \
            inconsistent, rebuilds stream.json from its shards' birth records (shard.json: range, \
            parents, creation; resharding included), the newest segment's key id, and the maximum \
            retention (8,760 h, so nothing expires; set the real one afterwards). A damaged \
            stream.json is kept beside it as stream.json.damaged-<ms>. Shards from before birth \
            records existed are rebuilt only with --even-split (the stream was never resharded). \
            Exits 1 when a quarantined stream remains.
            """
    )

    @Argument(help: "sluiced's data_dir.") var dataDirectory: String
    @Flag(name: .long, help: "For shards without shard.json: the stream was never resharded, so its shards 0…n−1 split the hash-key space evenly.")
    var evenSplit = false

    func run() async throws {
        let fs = PosixFileSystem()
        let lock: DataDirectoryLock
        do { lock = try DataDirectoryLock(dataDirectory: dataDirectory) } catch { Output.failure(error) }
        defer { withExtendedLifetime(lock) {} }
        let streams = dataDirectory + "/streams"
        var remaining = 0
        var repaired = 0
        for entry in (try? fs.listDirectory(streams).sorted()) ?? [] where fs.isDirectory(streams + "/" + entry) {
            let directory = streams + "/" + entry
            guard case .quarantine(let reason) = try StreamDirectoryCheck.check(directory: directory, entry: entry, fs: fs) else { continue }
            do {
                let result = try StreamRepair.rebuild(directory: directory, entry: entry, evenSplit: evenSplit, fs: fs, now: Int64(Date().timeIntervalSince1970 * 1000))
                repaired += 1
                print("repaired \(result.stream): \(result.shards) shards, encryption \(result.encryptedUnder ?? "none"), retention 8760 h (was quarantined: \(reason))")
                if let aside = result.movedAside { print("  the damaged metadata is kept at \(aside)") }
            } catch {
                remaining += 1
                print("not repaired \(directory): \(error)")
            }
        }
        print(remaining == 0 ? "OK: \(repaired) streams repaired" : "\(remaining) streams remain quarantined")
        if remaining > 0 { throw ExitCode(1) }
    }
}
