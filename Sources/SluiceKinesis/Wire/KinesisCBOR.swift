import FoundationEssentials
import SluiceStorage

/// Kinesis bodies between CBOR and the JSON the dispatcher speaks (`CBOR.md`): the
/// member names are the same; blobs are byte strings and timestamps tag-1 milliseconds.
///
/// Why transcode rather than a second set of decoders: every action, error and event
/// then has one definition of its members, and CBOR can never drift from JSON.
public enum KinesisCBOR {
    public static let contentType = "application/x-amz-cbor-1.1"
    /// Members that are blobs (base64 text in JSON).
    static let blobMembers: Set<String> = ["Data"]
    /// Members that are timestamps (epoch seconds in JSON).
    static let timestampMembers: Set<String> = [
        "Timestamp", "ApproximateArrivalTimestamp", "StreamCreationTimestamp", "ConsumerCreationTimestamp",
    ]

    /// A CBOR request body as the JSON text the dispatcher reads.
    /// - Throws: `KinesisError` SerializationException naming what is wrong.
    public static func json(fromCBOR body: some Collection<UInt8>) throws -> [UInt8] {
        if body.isEmpty { return Array("{}".utf8) }
        let item: CBORValue
        do {
            item = try CBORValue.decode(body)
        } catch {
            throw KinesisError.serialization("The request body is not valid CBOR: \(error). Send one CBOR map, or JSON with Content-Type \(KinesisWire.contentType).")
        }
        return try json(item, member: nil, path: "").bytes
    }

    /// A JSON response body (or error, or event payload) as CBOR.
    /// - Throws: `KinesisError` InternalFailure when the JSON is not JSON (a server bug).
    public static func cbor(fromJSON body: some Collection<UInt8>) throws -> [UInt8] {
        do {
            return cbor(try JSONParser.parse(body), member: nil).encoded
        } catch {
            throw KinesisError(type: "InternalFailure", message: "could not encode the response as CBOR: \(error)", status: 500)
        }
    }

    static func json(_ item: CBORValue, member: String?, path: String) throws -> JSONValue {
        func fail(_ what: String) -> KinesisError {
            .serialization("\(what) at '\(path.isEmpty ? "(the body)" : path)'.")
        }
        switch item {
        case .unsigned(let n):
            return .number(String(n))
        case .negative(let n):
            return .number(n == .max ? "-18446744073709551616" : "-\(n + 1)")
        case .float(let d):
            guard d.isFinite else { throw fail("\(d) is not a number JSON members can take") }
            return .number("\(d)")
        case .bytes(let b):
            return .string(Data(b).base64EncodedString())
        case .text(let t):
            return .string(t)
        case .bool(let b):
            return .bool(b)
        case .null, .undefined:
            return .null
        case .simple(let v):
            throw fail("CBOR simple value \(v) has no meaning in a Kinesis request")
        case .array(let items):
            return .array(try items.enumerated().map { try json($1, member: member, path: "\(path)[\($0)]") })
        case .map(let pairs):
            var members: [(String, JSONValue)] = []
            members.reserveCapacity(pairs.count)
            for (key, value) in pairs {
                guard case .text(let name) = key else { throw fail("A map key is not a text string") }
                members.append((name, try json(value, member: name, path: path.isEmpty ? name : path + "." + name)))
            }
            return .object(members)
        case .tagged(1, let inner):
            switch inner {
            case .unsigned(let millis):
                return .number(seconds(millis: millis))
            case .float(let seconds) where seconds.isFinite:
                return .number("\(seconds)")
            default:
                throw fail("Tag 1 (an epoch time) must hold an integer of milliseconds or a number of seconds")
            }
        case .tagged(_, let inner):
            return try json(inner, member: member, path: path)
        }
    }

    /// `millis` as exact decimal seconds (`1700000000123` → `1700000000.123`).
    static func seconds(millis: UInt64) -> String {
        let fraction = millis % 1000
        return fraction == 0 ? "\(millis / 1000)" : "\(millis / 1000).\(fraction.zeroPadded(3))"
    }

    static func cbor(_ value: JSONValue, member: String?) -> CBORValue {
        switch value {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .string(let s):
            if let member, blobMembers.contains(member), let data = Data(base64Encoded: s) { return .bytes(Array(data)) }
            return .text(s)
        case .number(let text):
            if let member, timestampMembers.contains(member), let seconds = Double(text), seconds.isFinite, abs(seconds) < 9e15 {
                let millis = (seconds * 1000).rounded()
                return .tagged(1, millis >= 0 ? .unsigned(UInt64(millis)) : .negative(UInt64(-millis) - 1))
            }
            if let n = UInt64(text) { return .unsigned(n) }
            if let n = Int64(text) { return .negative(UInt64(-(n + 1))) }
            return .float(Double(text) ?? 0)
        case .array(let items): return .array(items.map { cbor($0, member: member) })
        case .object(let members): return .map(members.map { (.text($0.0), cbor($0.1, member: $0.0)) })
        }
    }
}
