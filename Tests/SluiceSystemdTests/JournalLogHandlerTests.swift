import Foundation
import Logging
import Testing
import SluiceTestSupport
@testable import SluiceSystemd

/// The journal handler against a stand-in for journald's socket, read back and parsed
/// with the native protocol's rules.
@Suite struct JournalLogHandlerTests {
    /// Binds a datagram socket at `path` and returns its descriptor.
    func bind(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        precondition(result == 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Parses one native-protocol datagram into fields.
    func parse(_ bytes: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        var i = 0
        while i < bytes.count {
            var j = i
            while bytes[j] != UInt8(ascii: "=") && bytes[j] != 10 { j += 1 }
            let name = String(decoding: bytes[i..<j], as: UTF8.self)
            if bytes[j] == UInt8(ascii: "=") {
                var end = j + 1
                while bytes[end] != 10 { end += 1 }
                fields[name] = String(decoding: bytes[(j + 1)..<end], as: UTF8.self)
                i = end + 1
            } else {
                let length = bytes[(j + 1)..<(j + 9)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
                fields[name] = String(decoding: bytes[(j + 9)..<(j + 9 + length)], as: UTF8.self)
                i = j + 9 + length + 1
            }
        }
        return fields
    }

    @Test func writesStructuredFields() throws {
        let tmp = TemporaryDirectory("journal")
        let path = tmp.file("socket")
        let fd = bind(path)
        defer { close(fd) }
        var logger = Logger(label: "sluice.engine") { JournalLogHandler(label: $0, socket: JournalSocket(path: path)) }
        logger[metadataKey: "component"] = "storage"
        logger.warning("cut a torn tail\nsecond line", metadata: ["file": "/var/lib/sluice/x.seg", "bytes-cut": "12"])

        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        #expect(n > 0)
        let fields = parse(Array(buffer[..<n]))
        #expect(fields["MESSAGE"] == "cut a torn tail\nsecond line")
        #expect(fields["PRIORITY"] == "4")
        #expect(fields["SYSLOG_IDENTIFIER"] == "sluiced")
        #expect(fields["LOGGER"] == "sluice.engine")
        #expect(fields["CODE_FILE"]?.hasSuffix("JournalLogHandlerTests.swift") == true)
        #expect(Int(fields["CODE_LINE"] ?? "") != nil)
        #expect(fields["FILE"] == "/var/lib/sluice/x.seg")
        #expect(fields["BYTES_CUT"] == "12")
        #expect(fields["COMPONENT"] == "storage")
    }

    @Test func fieldNamesAreValidJournalNames() {
        #expect(JournalLogHandler.fieldName("stream") == "STREAM")
        #expect(JournalLogHandler.fieldName("_trusted") == "TRUSTED")
        #expect(JournalLogHandler.fieldName("9lives") == "F9LIVES")
        #expect(JournalLogHandler.fieldName("at.byte") == "AT_BYTE")
    }

    @Test func usedOnlyWhenSystemdConnectedStderrToTheJournal() {
        #expect(JournalLogHandler.shouldUse(environment: ["JOURNAL_STREAM": "8:1234"]))
        #expect(!JournalLogHandler.shouldUse(environment: [:]))
    }
}
