/// The AWS event-stream framing (`application/vnd.amazon.eventstream`) that carries
/// SubscribeToShard's pushed events over one HTTP response.
///
/// A message: total length (u32, big-endian), headers length (u32), CRC32 of those eight
/// bytes, the headers, the payload, and the CRC32 of everything before. A header: name
/// length (u8), name, value type (7 = string), value length (u16), value.
public enum EventStreamMessage {
    public static let contentType = "application/vnd.amazon.eventstream"

    /// An event (`:message-type` event) of `eventType` with a payload of `contentType`
    /// (JSON, or CBOR for a CBOR request).
    public static func event(_ eventType: String, payload: [UInt8], contentType: String = "application/json") -> [UInt8] {
        encode(headers: [(":message-type", "event"), (":event-type", eventType), (":content-type", contentType)], payload: payload)
    }

    /// An exception ending the stream, in the shape botocore raises as that error.
    public static func exception(_ type: String, message: String, format: KinesisBodyFormat = .json) -> [UInt8] {
        let json = Array("{\"message\":\(JSONText.quoted(message))}".utf8)
        let payload = (try? format.encode(json: json)) ?? json
        return encode(headers: [(":message-type", "exception"), (":exception-type", type), (":content-type", format.eventContentType)], payload: payload)
    }

    public static func encode(headers: [(String, String)], payload: [UInt8]) -> [UInt8] {
        var headerBytes: [UInt8] = []
        for (name, value) in headers {
            headerBytes.append(UInt8(name.utf8.count))
            headerBytes.append(contentsOf: name.utf8)
            headerBytes.append(7)
            appendBE(UInt16(value.utf8.count), to: &headerBytes)
            headerBytes.append(contentsOf: value.utf8)
        }
        var out: [UInt8] = []
        appendBE(UInt32(12 + headerBytes.count + payload.count + 4), to: &out)
        appendBE(UInt32(headerBytes.count), to: &out)
        appendBE(CRC32.checksum(out), to: &out)
        out += headerBytes
        out += payload
        appendBE(CRC32.checksum(out), to: &out)
        return out
    }

    static func appendBE<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
}

/// CRC32 (IEEE 802.3, zlib's), which the event-stream framing uses.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

import FoundationEssentials
