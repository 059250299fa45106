import Crypto
import Foundation
import SluiceStorage

/// What the golden-file suites share: files written by one version, committed under a
/// test target's `Golden/`, that every later version must read to the same records.
/// `SLUICE_WRITE_GOLDEN=1 swift test --filter Golden` writes them anew (only for a
/// deliberate format version).
public enum GoldenFiles {
    /// True when the run is to write the golden files instead of only checking them.
    public static let writing = ProcessInfo.processInfo.environment["SLUICE_WRITE_GOLDEN"] == "1"
    /// The committed test key: version 1 of key id "golden", 32 bytes of 0x5A.
    public static let keys = StaticKeyProvider([MasterKey(id: "golden", version: 1, secret: SymmetricKey(data: [UInt8](repeating: 0x5A, count: 32)))])
    /// The wall clock golden files were written at (2026-01-01T00:00:00Z).
    public static let startMillis: Int64 = 1_767_225_600_000

    /// The `Golden` directory beside the test file `file` (pass `#filePath`).
    public static func directory(beside file: String) -> String {
        URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Golden").path
    }

    /// Replaces golden directory `name` under `golden` with a copy of `source`.
    public static func replace(_ name: String, in golden: String, with source: String) throws {
        let target = golden + "/" + name
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: source, toPath: target)
    }

    /// Whether `bytes` hold `text`'s UTF-8 anywhere: a plaintext check for encrypted files.
    public static func contains(_ bytes: [UInt8], _ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { bytes[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}
