import Crypto
import FoundationEssentials
import Glibc
import SluiceStorage

/// AWS Signature Version 4, as Kinesis' JSON API uses it: the remote sink signs its
/// requests with it and the API verifies incoming ones with it. One canonicalization
/// serves both, so what Sluice signs, Sluice (and AWS) verifies.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"

    public struct Credentials: Sendable, Equatable {
        public var accessKeyId: String
        public var secretAccessKey: String
        public var sessionToken: String?

        public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyId = accessKeyId
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    /// A request as it is signed: method, path, query and the headers that are signed
    /// (names in any case), plus the body.
    public struct Request {
        public var method: String
        public var path: String
        public var query: String
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        public init(method: String, path: String = "/", query: String = "", headers: [(name: String, value: String)], body: [UInt8]) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }
    }

    /// The `Authorization` header's parts.
    public struct Authorization: Equatable, Sendable {
        public var accessKeyId: String
        /// yyyyMMdd
        public var date: String
        public var region: String
        public var service: String
        public var signedHeaders: [String]
        public var signature: String
    }

    /// The headers to add to `request` (`X-Amz-Date`, `X-Amz-Security-Token` when there is
    /// a session token, and `Authorization`). `request.headers` must already hold every
    /// other header to sign (at least `host`).
    public static func sign(_ request: Request, credentials: Credentials, region: String, service: String = "kinesis", date: Date = Date()) -> [(name: String, value: String)] {
        let amzDate = timestamp(date)
        var added: [(name: String, value: String)] = [("X-Amz-Date", amzDate)]
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }
        var signing = request
        signing.headers += added
        let signedHeaders = signing.headers.map { $0.name.lowercased() }.sorted()
        let scope = "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
        let signature = self.signature(
            for: signing, signedHeaders: signedHeaders, amzDate: amzDate, scope: scope, secret: credentials.secretAccessKey,
            date: String(amzDate.prefix(8)), region: region, service: service
        )
        added.append(("Authorization", "\(algorithm) Credential=\(credentials.accessKeyId)/\(scope), SignedHeaders=\(signedHeaders.joined(separator: ";")), Signature=\(signature)"))
        return added
    }

    /// Whether `authorization` is the signature of `request` (whose headers must include
    /// every signed header and `x-amz-date`) under `secret`.
    public static func verify(_ request: Request, authorization: Authorization, amzDate: String, secret: String) -> Bool {
        let scope = "\(authorization.date)/\(authorization.region)/\(authorization.service)/aws4_request"
        let expected = signature(
            for: request, signedHeaders: authorization.signedHeaders, amzDate: amzDate, scope: scope, secret: secret,
            date: authorization.date, region: authorization.region, service: authorization.service
        )
        // Constant time: the comparison must not tell how much of a guess was right.
        let a = Array(expected.utf8), b = Array(authorization.signature.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Parses `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request,
    /// SignedHeaders=a;b, Signature=hex`.
    public static func parseAuthorization(_ header: String) -> Authorization? {
        guard header.hasPrefix(algorithm + " ") else { return nil }
        var fields: [String: String] = [:]
        for part in header.dropFirst(algorithm.count + 1).split(separator: ",") {
            let pair = part.trimmingWhitespace().split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { return nil }
            fields[String(pair[0])] = String(pair[1])
        }
        guard let credential = fields["Credential"]?.split(separator: "/", omittingEmptySubsequences: false), credential.count == 5,
              credential[4] == "aws4_request", let signed = fields["SignedHeaders"], let signature = fields["Signature"]
        else { return nil }
        return Authorization(
            accessKeyId: String(credential[0]), date: String(credential[1]), region: String(credential[2]), service: String(credential[3]),
            signedHeaders: signed.split(separator: ";").map(String.init), signature: signature
        )
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func timestamp(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&time, &parts)
        return (parts.tm_year + 1900).zeroPadded(4) + (parts.tm_mon + 1).zeroPadded(2) + parts.tm_mday.zeroPadded(2) + "T"
            + parts.tm_hour.zeroPadded(2) + parts.tm_min.zeroPadded(2) + parts.tm_sec.zeroPadded(2) + "Z"
    }

    /// Parses `yyyyMMdd'T'HHmmss'Z'`.
    public static func parseTimestamp(_ text: String) -> Date? {
        let digits = Array(text.utf8)
        guard digits.count == 16, digits[8] == UInt8(ascii: "T"), digits[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? { Int32(String(decoding: digits[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15) else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }

    // MARK: - The algorithm

    static func signature(
        for request: Request, signedHeaders: [String], amzDate: String, scope: String, secret: String, date: String, region: String, service: String
    ) -> String {
        let canonical = canonicalRequest(request, signedHeaders: signedHeaders)
        let stringToSign = "\(algorithm)\n\(amzDate)\n\(scope)\n\(hex(SHA256.hash(data: Array(canonical.utf8))))"
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    static func canonicalRequest(_ request: Request, signedHeaders: [String]) -> String {
        var values: [String: [String]] = [:]
        for (name, value) in request.headers {
            values[name.lowercased(), default: []].append(value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " "))
        }
        let headerLines = signedHeaders.map { "\($0):\((values[$0] ?? []).joined(separator: ","))\n" }.joined()
        return [
            request.method,
            canonicalPath(request.path),
            canonicalQuery(request.query),
            headerLines,
            signedHeaders.joined(separator: ";"),
            hex(SHA256.hash(data: request.body)),
        ].joined(separator: "\n")
    }

    public static func canonicalPath(_ path: String) -> String {
        guard !path.isEmpty else { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false).map { uriEncode(String($0)) }.joined(separator: "/")
    }

    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        return query.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring) in s.percentDecoded ?? String(s) }
            return (uriEncode(decode(parts[0])), parts.count > 1 ? uriEncode(decode(parts[1])) : "")
        }.sorted { $0 < $1 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// RFC 3986 unreserved characters stay; everything else is %XX.
    public static func uriEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                out += "%" + byte.hexPadded(2, uppercase: true)
            }
        }
        return out
    }

    public static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
