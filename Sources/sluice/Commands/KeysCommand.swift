import ArgumentParser
import FoundationEssentials
import SluiceStorage

/// `sluice keys`: the local KMS's key file, offline.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create and manage the master-key file for encryption at rest.",
        discussion: """
            Rotation: `rotate` adds a new version that wraps every new data key; `rewrap DATA_DIR` \
            re-wraps stored data keys under it without rewriting record data; then `retire` removes \
            the old version (it refuses while any segment still needs it). Restart or reload sluiced \
            after `rotate` so it uses the new version.
            """,
        subcommands: [Init.self, List.self, Rotate.self, Rewrap.self, Retire.self]
    )

    struct KeyFileOption: ParsableArguments {
        @Option(name: .long, help: "The key file.") var keyFile: String
    }

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key file (mode 0600) with a new random master key.")
        @OptionGroup var file: KeyFileOption
        @Option(name: .long, help: "The master key id.") var keyId = "sluice-master"

        func run() async throws {
            do {
                let created = try LocalKeyFile.create(path: file.keyFile, keyId: keyId)
                print("created \(created.path) with \(keyId) version 1 (mode 0600); back it up: without it encrypted data cannot be read")
            } catch { Output.failure(error) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List key ids and versions (never the secrets).")
        @OptionGroup var file: KeyFileOption
        @Flag(name: .long, help: "JSON output.") var json = false

        func run() async throws {
            do {
                let keys = try LocalKeyFile.load(path: file.keyFile)
                let newest = Dictionary(keys.entries.map { ($0.id, $0.version) }, uniquingKeysWith: max)
                for entry in keys.entries {
                    let active = newest[entry.id] == entry.version
                    if json {
                        Output.json(["KeyId": entry.id, "Version": entry.version, "CreatedAt": entry.createdAt, "Active": active])
                    } else {
                        print("\(entry.id)\tv\(entry.version)\t\(entry.createdAt)\(active ? "\tactive" : "")")
                    }
                }
            } catch { Output.failure(error) }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a new master-key version; it wraps new data keys from now on.")
        @OptionGroup var file: KeyFileOption
        @Option(name: .long, help: "The key id (default: the file's first).") var keyId: String?

        func run() async throws {
            do {
                var keys = try LocalKeyFile.load(path: file.keyFile)
                let version = try keys.rotate(keyId: keyId)
                try keys.save()
                print("added \(keyId ?? keys.entries[0].id) version \(version); run `sluice keys rewrap` to move stored data keys onto it")
            } catch { Output.failure(error) }
        }
    }

    struct Rewrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-wrap every stored data key under the newest version of its master key.")
        @OptionGroup var file: KeyFileOption
        @Argument(help: "sluiced's data_dir.") var dataDirectory: String

        func run() async throws {
            do {
                let keys = try LocalKeyFile.load(path: file.keyFile)
                let result = try DataKeyRewrapper().rewrap(dataDirectory: dataDirectory, keys: keys.provider)
                print("rewrapped \(result.rewrapped) segments; \(result.current) already on the newest version; \(result.plain) not encrypted")
            } catch { Output.failure(error) }
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an old master-key version that no stored segment needs.")
        @OptionGroup var file: KeyFileOption
        @Argument(help: "The version to retire.") var version: UInt32
        @Option(name: .long, help: "The key id (default: the file's first).") var keyId: String?
        @Option(name: .long, help: "sluiced's data_dir, checked for segments that still need the version.")
        var dataDir = "/var/lib/sluice"

        func run() async throws {
            do {
                var keys = try LocalKeyFile.load(path: file.keyFile)
                let id = keyId ?? keys.entries[0].id
                guard FileManager.default.fileExists(atPath: dataDir) else {
                    throw ValidationError("--data-dir \(dataDir) does not exist; name the data directory that uses this key file")
                }
                let users = try DataKeyRewrapper().usage(dataDirectory: dataDir)[id]?[version] ?? []
                if !users.isEmpty {
                    throw ValidationError("\(users.count) segments still need \(id) version \(version) (first: \(users[0])); run `sluice keys rewrap --key-file \(file.keyFile) \(dataDir)` first")
                }
                try keys.retire(keyId: id, version: version)
                try keys.save()
                print("retired \(id) version \(version)")
            } catch { Output.failure(error) }
        }
    }
}
