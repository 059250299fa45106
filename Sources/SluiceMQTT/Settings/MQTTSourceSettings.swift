import SluiceGateway

/// One `[[sources.mqtt]]` entry, validated.
public struct MQTTSourceSettings: Sendable {
    public enum Oversize: String, Sendable, CaseIterable {
        /// Keep the head of the payload and end it with the truncation marker.
        case truncate
        /// Leave the message out (counted in `dropped` and logged).
        case drop
    }

    public struct TLS: Sendable, Equatable {
        /// PEM CA bundle that signed the broker's certificate; nil: the system's CAs.
        public var caFile: String?
        /// Client certificate and key (PEM), for brokers that require one.
        public var certFile: String?
        public var keyFile: String?
        /// Skip the check that the certificate names the broker's host (testing only).
        public var insecure = false

        public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecure: Bool = false) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.insecure = insecure
        }
    }

    /// Names the source in logs, status and metrics.
    public var name: String
    public var stream: String
    public var broker: BrokerAddress
    /// Fixed, so the broker keeps the session (and queues messages) while sluiced is down.
    public var clientId: String
    public var topics: [TopicFilter]
    public var qos: Int32 = 1
    public var builder: RecordBuilder
    /// false: a persistent session (the broker queues while we are away).
    public var cleanSession = false
    /// 5 (MQTT v5) or 4 (MQTT 3.1.1).
    public var protocolVersion: Int32 = 5
    /// MQTT v5's session expiry interval: how long the broker keeps the session while we
    /// are disconnected. UInt32.max: never expires (as a 3.1.1 persistent session).
    public var sessionExpirySeconds: UInt32 = .max
    public var username: String?
    public var password: String?
    public var tls: TLS?
    public var keepaliveSeconds: Int32 = 60
    public var reconnectMin: Duration = .milliseconds(500)
    public var reconnectMax: Duration = .seconds(30)
    /// The bound on messages received and not yet durable: what is read before a batch is
    /// stored, and MQTT v5's receive maximum (the broker sends no more unacknowledged).
    public var maxInFlightMessages = 5_000
    public var maxInFlightBytes = 8 << 20
    public var onOversize = Oversize.truncate
    /// Messages whose payload the parser refuses go to this stream (with `parse_error`).
    public var parseErrorStream: String?
    /// Where the filters subscribed last time are remembered (`<name>.subscriptions`), so
    /// filters dropped from the config are unsubscribed from the persistent session.
    public var stateDirectory: String?

    public init(name: String, stream: String, broker: BrokerAddress, clientId: String, topics: [TopicFilter], builder: RecordBuilder) {
        self.name = name
        self.stream = stream
        self.broker = broker
        self.clientId = clientId
        self.topics = topics
        self.builder = builder
    }

    /// Every name any filter captures (the partition key template may use them).
    public static func captureNames(of topics: [TopicFilter]) -> Set<String> {
        Set(topics.flatMap(\.captureNames))
    }
}
