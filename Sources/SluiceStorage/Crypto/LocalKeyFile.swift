import Crypto
import FoundationEssentials

/// The local KMS's key file: master keys with an id, versions and 256-bit secrets.
///
/// JSON, mode 0600: `{"format": "sluice-keys/1", "keys": [{"id", "version", "createdAt",
/// "secret" (base64)}]}`. The newest version of a key id wraps new data keys; older
/// versions stay until `retire` removes them (after `rewrap` moved every segment off them).
public struct LocalKeyFile: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var id: String
        public var version: UInt32
        public var createdAt: String
        var secret: String
    }

    struct Document: Codable {
        var format: String
        var keys: [Entry]
    }

    static let format = "sluice-keys/1"
    public let path: String
    public private(set) var entries: [Entry]

    /// Creates a new key file with version 1 of `keyId`, from the OS's random bytes.
    /// - Throws: `.keyFile` if the file already exists (a key file is never overwritten).
    public static func create(path: String, keyId: String = "sluice-master", fs: any FileSystem = PosixFileSystem()) throws -> LocalKeyFile {
        guard !fs.fileExists(path) else {
            throw StorageError(.keyFile, "key file \(path) already exists; it is never overwritten (use `sluice keys rotate` for a new version)")
        }
        try validate(keyId: keyId)
        var file = LocalKeyFile(path: path, entries: [])
        file.entries.append(newEntry(id: keyId, version: 1))
        try file.save(fs: fs)
        return file
    }

    /// Loads a key file.
    /// - Throws: `.keyFile` naming the file when it is missing, readable by group or
    ///   others (with the chmod to run), or not a Sluice key file.
    public static func load(path: String, fs: any FileSystem = PosixFileSystem()) throws -> LocalKeyFile {
        guard fs.fileExists(path) else {
            throw StorageError(.keyFile, "key file \(path) does not exist; create it with `sluice keys init --key-file \(path)`")
        }
        let mode = try fs.permissions(path)
        if mode & 0o077 != 0 {
            throw StorageError(.keyFile, "key file \(path) is readable by group or others (mode \(String(mode, radix: 8))); run `chmod 600 \(path)`")
        }
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(try fs.readWholeFile(path)))
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.keyFile, "key file \(path) is not a Sluice key file (\(error)); restore it from your backup")
        }
        guard document.format == format, !document.keys.isEmpty else {
            throw StorageError(.keyFile, "key file \(path) is not a Sluice key file (format \"\(document.format)\", \(document.keys.count) keys)")
        }
        for entry in document.keys {
            guard let secret = Data(base64Encoded: entry.secret), secret.count == 32 else {
                throw StorageError(.keyFile, "key file \(path): key \(entry.id) version \(entry.version) does not hold a 256-bit secret")
            }
        }
        return LocalKeyFile(path: path, entries: document.keys)
    }

    /// Adds the next version of `keyId` (a new key id starts at version 1); it wraps every
    /// new data key from now on. Returns the new version.
    @discardableResult
    public mutating func rotate(keyId: String? = nil) throws -> UInt32 {
        let id = keyId ?? entries[0].id
        try Self.validate(keyId: id)
        let version = (entries.filter { $0.id == id }.map(\.version).max() ?? 0) + 1
        entries.append(Self.newEntry(id: id, version: version))
        return version
    }

    /// Removes a version. The newest version of a key id cannot be retired.
    public mutating func retire(keyId: String, version: UInt32) throws {
        guard entries.contains(where: { $0.id == keyId && $0.version == version }) else {
            throw StorageError(.keyUnavailable, "key \(keyId) version \(version) is not in \(path)")
        }
        let newest = entries.filter { $0.id == keyId }.map(\.version).max()!
        guard version != newest else {
            throw StorageError(.invalidArgument, "key \(keyId) version \(version) is the active version; rotate first, rewrap, then retire the old one")
        }
        entries.removeAll { $0.id == keyId && $0.version == version }
    }

    public func save(fs: any FileSystem = PosixFileSystem()) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try fs.writeAtomically(path, Array(try encoder.encode(Document(format: Self.format, keys: entries))), mode: 0o600)
    }

    /// The keys as a provider for the storage module.
    public var provider: StaticKeyProvider {
        StaticKeyProvider(entries.map { MasterKey(id: $0.id, version: $0.version, secret: SymmetricKey(data: Data(base64Encoded: $0.secret)!)) })
    }

    static func newEntry(id: String, version: UInt32) -> Entry {
        let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        return Entry(id: id, version: version, createdAt: Date().formatted(.iso8601), secret: secret)
    }

    static func validate(keyId: String) throws {
        let ok = !keyId.isEmpty && keyId.count <= 64 && keyId.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_./:".unicodeScalars.contains($0)
        }
        guard ok else { throw StorageError(.invalidArgument, "key id \"\(keyId)\": use 1-64 characters from A-Z a-z 0-9 - _ . / :") }
    }
}
