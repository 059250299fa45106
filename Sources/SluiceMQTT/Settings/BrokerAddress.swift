import SluiceStorage

/// Where the broker is: `mqtt://HOST[:PORT]` (plain TCP, port 1883) or `mqtts://HOST[:PORT]`
/// (TLS, port 8883). IPv6 hosts go in brackets: `mqtt://[::1]:1883`.
public struct BrokerAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var tls: Bool

    public init(host: String, port: Int, tls: Bool) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    /// - Throws: `BrokerAddressError` naming what is wrong with the URL.
    public init(parsing text: String) throws {
        let problem = BrokerAddressError(.malformed, "broker \"\(text)\": expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT], e.g. \"mqtt://127.0.0.1:1883\"")
        let schemes: [(String, Bool)] = [("mqtt://", false), ("tcp://", false), ("mqtts://", true), ("ssl://", true)]
        guard let (scheme, tls) = schemes.first(where: { text.hasPrefix($0.0) }) else { throw problem }
        var rest = Substring(text.dropFirst(scheme.count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw problem }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw problem }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty, !host.contains("/"), !host.contains("@") else { throw problem }
        var port = tls ? 8883 : 1883
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw BrokerAddressError(.badPort, "broker \"\(text)\": port \"\(portText)\" is not a number from 1 to 65535")
            }
            port = value
        }
        self.init(host: String(host), port: port, tls: tls)
    }

    public var description: String {
        (tls ? "mqtts://" : "mqtt://") + (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }
}

/// What is wrong with a broker address.
public enum BrokerAddressProblem: Sendable, Equatable {
    /// Not mqtt://HOST[:PORT] or mqtts://HOST[:PORT].
    case malformed
    /// A port that is not 1 to 65535.
    case badPort
}

public typealias BrokerAddressError = CodedFailure<BrokerAddressProblem>

