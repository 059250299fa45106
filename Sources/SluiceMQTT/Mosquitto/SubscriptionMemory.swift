import Logging
import SluiceStorage

/// The filters a session subscribed to, remembered across restarts in
/// `DATA_DIR/checkpoints/mqtt-session-<crc32c of broker and client id>.subscriptions` (one
/// filter per line, replaced atomically): a persistent session keeps every subscription
/// it was ever given, so the source must know which ones an older config made in order
/// to drop them. Keyed by the session (broker and client id), not the source's name,
/// which changes with its topics when it has no explicit `name`.
struct SubscriptionMemory {
    let path: String?
    let fs: any FileSystem
    let logger: Logger

    init(directory: String?, broker: String, clientId: String, fileSystem: any FileSystem, logger: Logger) {
        let session = String(CRC32C.checksum(Array((broker + "\n" + clientId).utf8)), radix: 16)
        path = directory.map { $0 + "/mqtt-session-" + session + ".subscriptions" }
        self.fs = fileSystem
        self.logger = logger
    }

    func previous() -> [String] {
        guard let path, fs.fileExists(path), let bytes = try? fs.readWholeFile(path) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func remember(_ filters: [String]) {
        guard let path, filters != previous() else { return }
        do {
                let directory = String(path[..<path.lastIndex(of: "/")!])
            try fs.createDirectory(directory)
            try fs.writeAtomically(path, Array(filters.map { $0 + "\n" }.joined().utf8))
        } catch {
            logger.warning("cannot remember the MQTT subscriptions; filters dropped from the config later may keep arriving", metadata: ["file": "\(path)", "error": "\(error)"])
        }
    }
}
