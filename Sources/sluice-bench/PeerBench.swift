import ArgumentParser
import Foundation
import Glibc
import Synchronization

/// `sluice-bench peer`: the engine benchmark's load against a peer store, over its own
/// wire protocol: N writers, each sending one record and waiting for the store's
/// acknowledgement before the next (what `sluice-bench engine --writers N` does in
/// process). Redis streams: `XADD` (with `appendfsync always` the reply follows the
/// fsync). NATS JetStream: a publish with a reply subject, acknowledged by the stream.
struct PeerBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "peer", abstract: "Durable appends to Redis streams or NATS JetStream, for comparison.")
    @Option(help: "redis or nats.") var target: String
    @Option(help: "Port on 127.0.0.1.") var port: Int
    @Option(help: "Concurrent writers (one connection each).") var writers = 16
    @Option(help: "Bytes of data per record.") var recordSize = 100
    @Option(help: "Seconds to run.") var seconds = 5.0
    @Option(help: "A label printed with the result.") var label = ""

    func run() throws {
        guard ["redis", "nats"].contains(target) else { throw ValidationError("--target must be redis or nats") }
        if target == "nats" { try NATSWriter.createStream(port: port) }
        let total = Atomic<Int>(0)
        let deadline = Date().addingTimeInterval(seconds)
        let payload = [UInt8](repeating: 0x61, count: recordSize)
        let group = DispatchGroup()
        let failure = Mutex<String?>(nil)
        for writer in 0..<writers {
            group.enter()
            Thread.detachNewThread { [target, port] in
                defer { group.leave() }
                do {
                    let connection = try LineConnection(port: port)
                    let append: () throws -> Void
                    if target == "redis" {
                        append = { try RedisWriter.xadd(connection, key: "bench-\(writer % 4)", payload: payload) }
                    } else {
                        try NATSWriter.handshake(connection, inbox: "_INBOX.w\(writer)")
                        append = { try NATSWriter.publish(connection, subject: "bench.\(writer % 4)", inbox: "_INBOX.w\(writer)", payload: payload) }
                    }
                    while Date() < deadline {
                        try append()
                        total.add(1, ordering: .relaxed)
                    }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
            }
        }
        group.wait()
        if let failure = failure.withLock({ $0 }) { throw ValidationError("\(target): \(failure)") }
        let count = Double(total.load(ordering: .relaxed))
        let line: [String: Any] = [
            "bench": "peer-\(target)", "label": label, "writers": writers, "record_size": recordSize, "batch": 1, "shards": 4,
            "seconds": seconds, "records_per_second": count / seconds, "mb_per_second": count * Double(recordSize) / seconds / 1e6,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self))
    }
}

/// A blocking TCP connection to 127.0.0.1 that reads CRLF-terminated lines.
final class LineConnection {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw ValidationError("cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw ValidationError("send failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    func line() throws -> String {
        while true {
            if let end = buffer.firstIndex(of: 0x0A) {
                let text = String(decoding: buffer[..<end], as: UTF8.self).trimmingCharacters(in: .newlines)
                buffer.removeFirst(end + 1)
                return text
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw ValidationError("connection closed") }
            buffer += chunk[..<n]
        }
    }

    /// Reads exactly `count` bytes plus the CRLF after them.
    func bytes(_ count: Int) throws {
        while buffer.count < count + 2 {
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw ValidationError("connection closed") }
            buffer += chunk[..<n]
        }
        buffer.removeFirst(count + 2)
    }
}

enum RedisWriter {
    /// `XADD key * d <payload>`; the reply is the entry id (a bulk string).
    static func xadd(_ connection: LineConnection, key: String, payload: [UInt8]) throws {
        var command = Array("*5\r\n$4\r\nXADD\r\n$\(key.utf8.count)\r\n\(key)\r\n$1\r\n*\r\n$1\r\nd\r\n$\(payload.count)\r\n".utf8)
        command += payload
        command += [0x0D, 0x0A]
        try connection.send(command)
        let reply = try connection.line()
        guard reply.hasPrefix("$"), let length = Int(reply.dropFirst()) else { throw ValidationError("XADD: \(reply)") }
        try connection.bytes(length)
    }
}

enum NATSWriter {
    /// Reads INFO, sends CONNECT (verbose off) and subscribes to the writer's inbox.
    static func handshake(_ connection: LineConnection, inbox: String) throws {
        _ = try connection.line()
        try connection.send(Array("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB \(inbox) 1\r\nPING\r\n".utf8))
        while try connection.line() != "PONG" {}
    }

    /// Publishes and waits for JetStream's acknowledgement on the inbox.
    static func publish(_ connection: LineConnection, subject: String, inbox: String, payload: [UInt8]) throws {
        try connection.send(Array("PUB \(subject) \(inbox) \(payload.count)\r\n".utf8) + payload + [0x0D, 0x0A])
        while true {
            let line = try connection.line()
            if line.hasPrefix("MSG ") {
                guard let length = Int(line.split(separator: " ").last ?? "") else { throw ValidationError("bad MSG: \(line)") }
                try connection.bytes(length)
                return
            }
            if line == "PING" { try connection.send(Array("PONG\r\n".utf8)) }
            if line.hasPrefix("-ERR") { throw ValidationError(line) }
        }
    }

    /// Creates stream `name` (file storage) over subjects `name.>`.
    static func createStream(port: Int, name: String = "bench") throws {
        let config = Array(#"{"name":"\#(name)","subjects":["\#(name).>"],"storage":"file","retention":"limits","discard":"old","num_replicas":1}"#.utf8)
        _ = try request(port: port, subject: "$JS.API.STREAM.CREATE.\(name)", payload: config)
    }

    /// How many messages stream `name` holds.
    static func streamMessages(port: Int, name: String) throws -> Int {
        let reply = try request(port: port, subject: "$JS.API.STREAM.INFO.\(name)", payload: [])
        let object = try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any]
        return ((object?["state"] as? [String: Any])?["messages"] as? Int) ?? 0
    }

    /// One JetStream API request; returns the reply's payload.
    static func request(port: Int, subject: String, payload: [UInt8]) throws -> String {
        let connection = try LineConnection(port: port)
        try handshake(connection, inbox: "_INBOX.admin")
        try connection.send(Array("PUB \(subject) _INBOX.admin \(payload.count)\r\n".utf8) + payload + [0x0D, 0x0A])
        while true {
            let line = try connection.line()
            if line.hasPrefix("MSG ") { return try connection.line() }
            if line.hasPrefix("-ERR") { throw ValidationError(line) }
        }
    }
}
