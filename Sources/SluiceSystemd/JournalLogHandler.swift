import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler that writes structured entries to the systemd journal through its
/// native protocol (an AF_UNIX datagram of `FIELD=value` lines; values with a newline use
/// the length-prefixed form). Fields: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CODE_FILE,
/// CODE_LINE, CODE_FUNC, LOGGER, and every metadata key upper-cased (`stream` → `STREAM`).
///
/// The protocol is written here rather than through `sd_journal_sendv` so that the socket
/// path can be pointed at a stand-in (tests) and nothing variadic crosses into C.
public struct JournalLogHandler: LogHandler {
    /// Where journald listens.
    public static let defaultSocket = "/run/systemd/journal/socket"

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let identifier: String
    let socket: JournalSocket

    public init(label: String, identifier: String = "sluiced", socket: JournalSocket) {
        self.label = label
        self.identifier = identifier
        self.socket = socket
    }

    /// Whether to log to the journal: when systemd connected stderr to it (JOURNAL_STREAM).
    public static func shouldUse(environment: [String: String]) -> Bool {
        environment["JOURNAL_STREAM"] != nil
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("MESSAGE", event.message.description),
            ("PRIORITY", String(Self.priority(event.level))),
            ("SYSLOG_IDENTIFIER", identifier),
            ("LOGGER", label),
            ("CODE_FILE", event.file),
            ("CODE_LINE", String(event.line)),
            ("CODE_FUNC", event.function),
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            fields.append((Self.fieldName(key), "\(value)"))
        }
        if !socket.send(Self.encode(fields)) {
            // Too large for one datagram: keep the entry, cut the message.
            fields[0].1 = String(fields[0].1.prefix(2048)) + " [truncated]"
            fields = fields.map { ($0.0, String($0.1.prefix(4096))) }
            socket.send(Self.encode(fields))
        }
    }

    /// syslog priorities: 2 critical … 7 debug.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// Journal field names: upper-case letters, digits and underscores, not starting with
    /// an underscore (those are trusted fields journald sets itself).
    static func fieldName(_ key: String) -> String {
        var name = String(key.uppercased().unicodeScalars.map { scalar -> Character in
            (("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)) ? Character(scalar) : "_"
        })
        while name.hasPrefix("_") { name.removeFirst() }
        if name.isEmpty || name.first!.isNumber { name = "F" + name }
        return String(name.prefix(64))
    }

    /// The native protocol's datagram.
    public static func encode(_ fields: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, value) in fields {
            out.append(contentsOf: name.utf8)
            if value.utf8.contains(10) {
                out.append(10)
                withUnsafeBytes(of: UInt64(value.utf8.count).littleEndian) { out.append(contentsOf: $0) }
                out.append(contentsOf: value.utf8)
            } else {
                out.append(UInt8(ascii: "="))
                out.append(contentsOf: value.utf8)
            }
            out.append(10)
        }
        return out
    }
}

/// The datagram socket to journald (or a stand-in), shared by all handlers.
public final class JournalSocket: Sendable {
    let path: String
    let fd: Int32

    public init(path: String = JournalLogHandler.defaultSocket) {
        self.path = path
        self.fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    deinit { close(fd) }

    /// Sends one entry; false when it is too large for a datagram (EMSGSIZE). Other
    /// failures (journald restarting) drop the entry: logging never blocks the daemon.
    @discardableResult
    func send(_ datagram: [UInt8]) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes + [0])
        }
        let sent = datagram.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
        return sent >= 0 || errno != EMSGSIZE
    }
}
