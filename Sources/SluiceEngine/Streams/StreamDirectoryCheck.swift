import FoundationEssentials
import SluiceStorage

/// What the start does with one directory under `DATA_DIR/streams`, decided in one place
/// so that `sluice verify` reports exactly what the start would do, in the same words.
public enum StreamDirectoryCheck {
    public enum Outcome: Sendable {
        /// Metadata readable and consistent: the stream opens.
        case open(StreamMetadata)
        /// No metadata and not one record: a CreateStream that crashed half-way (removed).
        case unfinished
        /// Records the engine cannot serve safely: kept untouched, left out, reported.
        case quarantine(String)
    }

    /// - Parameter entry: the directory's name under `streams/`.
    /// - Throws: I/O failures only; every problem of the files themselves is an outcome.
    public static func check(directory: String, entry: String, fs: any FileSystem) throws -> Outcome {
        let metadataPath = directory + "/stream.json"
        guard fs.fileExists(metadataPath) else {
            let found = try DataDirectoryVerifier(fileSystem: fs).verify(streamDirectory: directory)
            let onlyShardDirectories = try fs.listDirectory(directory).allSatisfy {
                ($0.hasPrefix("shardId-") && fs.isDirectory(directory + "/" + $0)) || $0.hasSuffix(".tmp")
            }
            if onlyShardDirectories && found.records == 0 && found.findings.isEmpty { return .unfinished }
            return .quarantine("\(metadataPath) is missing but its shards hold \(found.records) records")
        }
        let metadata: StreamMetadata
        do {
            metadata = try JSONDecoder().decode(StreamMetadata.self, from: Data(try fs.readWholeFile(metadataPath)))
        } catch {
            return .quarantine("\(metadataPath) cannot be read: \(error)")
        }
        if let problem = metadata.problem {
            return .quarantine("\(metadataPath) is not consistent: \(problem)")
        }
        guard PathComponent.encode(metadata.name) == entry else {
            return .quarantine("\(metadataPath) names stream '\(metadata.name)', which belongs in directory \(PathComponent.encode(metadata.name))")
        }
        return .open(metadata)
    }

    /// What the start would refuse or quarantine in `dataDirectory`, as (file, message):
    /// the engine's part of `sluice verify`.
    public static func findings(dataDirectory: String, fs: any FileSystem = PosixFileSystem()) throws -> [(file: String, message: String)] {
        var findings: [(file: String, message: String)] = []
        if let problem = IteratorKeyFile.problem(dataDirectory + "/engine.key", fs: fs) {
            findings.append((dataDirectory + "/engine.key", problem))
        }
        let streams = dataDirectory + "/streams"
        for entry in try fs.listDirectory(streams).sorted() where fs.isDirectory(streams + "/" + entry) {
            if case .quarantine(let reason) = try check(directory: streams + "/" + entry, entry: entry, fs: fs) {
                findings.append((streams + "/" + entry, "sluiced quarantines this stream at start (its records are kept, not served): \(reason); run `sluice repair \(dataDirectory)` with sluiced stopped, or restore stream.json from a backup"))
            }
        }
        return findings
    }
}

/// `DATA_DIR/engine.key`: the HMAC key that makes shard iterators tamper-evident.
enum IteratorKeyFile {
    static let size = 32

    /// Why the start would refuse the file, or nil (a missing file is created).
    static func problem(_ path: String, fs: any FileSystem) -> String? {
        guard fs.fileExists(path) else { return nil }
        do {
            let count = try fs.readWholeFile(path).count
            return count == size ? nil : "\(path) should hold \(size) bytes but holds \(count); delete it and restart (open shard iterators become invalid)"
        } catch {
            return "\(path) cannot be read (\(error)); delete it and restart (open shard iterators become invalid)"
        }
    }
}
