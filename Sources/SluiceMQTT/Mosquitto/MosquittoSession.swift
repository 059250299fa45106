import CMosquitto
import Dispatch
import Glibc
import Logging
import SluiceGateway
import SluiceStorage
import Synchronization

/// One message as the broker delivered it.
public struct MQTTMessage: Sendable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int32
    public var retain: Bool
}

/// The connection to the broker, driven step by step so that acknowledgements wait until
/// the messages are durable.
///
/// libmosquitto 2.0 sends PUBACK before it hands a QoS 1 message to the application, so a
/// client that stores in `on_message` loses what it held when it dies. But in "threaded"
/// mode (`mosquitto_threaded_set`) the library only *queues* outgoing packets, PUBACK
/// included, and writes them in `mosquitto_loop_write`. This session therefore alternates:
/// `receive` reads packets (never writing), the caller makes the messages durable, then
/// `acknowledge` writes the queued PUBACKs. A crash before `acknowledge` leaves the
/// messages unacknowledged at the broker, which delivers them again: at-least-once for
/// QoS 1. (QoS 2 cannot be held this way: the PUBREC must go out before the broker sends
/// the PUBREL that releases the message to us. README, "MQTT delivery".)
///
/// Everything touching the libmosquitto handle runs on one serial queue.
final class MosquittoSession: @unchecked Sendable {
    enum State: Equatable {
        case disconnected(retryAt: MonotonicInstant)
        case connecting(since: MonotonicInstant)
        case connected
    }

    /// What `status` shows; written on the queue, read from anywhere.
    struct Figures: Sendable {
        var state = "disconnected"
        var connects: UInt64 = 0
        var sessionPresent = false
        /// The broker acknowledged this connection's subscriptions (SUBACK).
        var subscribed = false
        var inFlight = 0
        var lastError: String?
    }

    let settings: MQTTSourceSettings
    let logger: Logger
    let figures = Mutex(Figures())
    private let queue = DispatchQueue(label: "sluice.mqtt.session")
    private var client = MosquittoClient<MosquittoSession>()
    private var handle: OpaquePointer? { client.handle }
    private var state = State.disconnected(retryAt: MonotonicInstant(nanos: 0))
    private var backoff: Duration
    private var inbox: [MQTTMessage] = []
    private var inboxBytes = 0
    /// Why the broker refused the last CONNECT, for the log line that follows the error.
    private var refusal: String?
    private var loggedFailures = 0
    private let subscriptions: SubscriptionMemory
    /// The gateway's clock: connect timeouts and reconnect times (the socket waits are real).
    private let time: any TimeSource

    /// Creates the libmosquitto client with every option set; connects on first `receive`.
    /// - Throws: `MQTTSourceError` naming the setting at fault (unreadable TLS files, a
    ///   rejected option).
    init(settings: MQTTSourceSettings, fileSystem: any FileSystem, time: any TimeSource, logger: Logger) throws {
        self.settings = settings
        self.time = time
        self.logger = logger
        backoff = settings.reconnectMin
        subscriptions = SubscriptionMemory(directory: settings.stateDirectory, broker: settings.broker.description, clientId: settings.clientId, fileSystem: fileSystem, logger: logger)
        let handle = try client.create(clientId: settings.clientId, cleanSession: settings.cleanSession, owner: self)
        do {
            try configure(handle)
        } catch {
            client.destroy()
            throw error
        }
    }

    private func configure(_ handle: OpaquePointer) throws {
        func check(_ rc: Int32, _ what: String) throws {
            guard rc == MOSQ_ERR_SUCCESS.rawValue else {
                throw MQTTSourceError(.option, "\(settings.name): \(what): \(String(cString: mosquitto_strerror(rc)))")
            }
        }
        try check(mosquitto_threaded_set(handle, true), "threaded mode")
        try check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, settings.protocolVersion), "protocol_version")
        if settings.protocolVersion == MQTT_PROTOCOL_V5 {
            try check(mosquitto_int_option(handle, MOSQ_OPT_RECEIVE_MAXIMUM, Int32(min(65_535, settings.maxInFlightMessages))), "max_in_flight_messages")
        }
        try check(mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1), "TCP_NODELAY")
        if let username = settings.username {
            try check(mosquitto_username_pw_set(handle, username, settings.password), "username/password")
        }
        if let tls = settings.tls {
            for (key, path) in [("ca_file", tls.caFile), ("cert_file", tls.certFile), ("key_file", tls.keyFile)] {
                if let path, access(path, R_OK) != 0 {
                    throw MQTTSourceError(.unreadableFile, "\(settings.name): \(key) \"\(path)\" cannot be read (\(String(cString: strerror(errno)))); check the path and that the sluice user may read it")
                }
            }
            if tls.caFile == nil {
                try check(mosquitto_int_option(handle, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "TLS with the system's CAs")
            }
            try check(mosquitto_tls_set(handle, tls.caFile, nil, tls.certFile, tls.keyFile, nil), "TLS (ca_file, cert_file, key_file)")
            if tls.insecure { try check(mosquitto_tls_insecure_set(handle, true), "tls_insecure") }
        }
        mosquitto_connect_with_flags_callback_set(handle, sluiceMosquittoOnConnect)
        mosquitto_disconnect_callback_set(handle, sluiceMosquittoOnDisconnect)
        mosquitto_message_callback_set(handle, sluiceMosquittoOnMessage)
        mosquitto_subscribe_callback_set(handle, sluiceMosquittoOnSubscribe)
    }

    // MARK: - The caller's side

    /// Reads what the broker sends, up to the in-flight bounds, waiting up to `wait` when
    /// nothing comes; connects (or reconnects, with backoff) first when needed. The
    /// messages are not acknowledged until `acknowledge`.
    func receive(wait: Duration) async -> [MQTTMessage] {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.receiveOnQueue(wait: wait)) }
        }
    }

    /// Acknowledges everything `receive` returned (call once it is durable), and keeps the
    /// connection alive (PINGREQ).
    func acknowledge() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.writePending()
                self.figures.withLock { $0.inFlight = 0 }
                continuation.resume()
            }
        }
    }

    /// Disconnects cleanly (the broker keeps a persistent session) and frees the client.
    /// Call after the last `acknowledge`.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                if let handle = self.handle, case .connected = self.state {
                    mosquitto_disconnect(handle)
                    _ = mosquitto_loop_write(handle, 1)
                }
                self.client.destroy()
                self.publishState("disconnected")
                continuation.resume()
            }
        }
    }

    // MARK: - On the queue

    private func receiveOnQueue(wait: Duration) -> [MQTTMessage] {
        let deadline = time.monotonicNow() + wait
        connectIfDue()
        while let handle, !isDisconnected {
            if inbox.count >= settings.maxInFlightMessages || inboxBytes >= settings.maxInFlightBytes { break }
            let rc = mosquitto_loop_read(handle, 1)
            guard rc == MOSQ_ERR_SUCCESS.rawValue else {
                lost(rc)
                break
            }
            // Whether more waits in the socket. (Not errno: loop_read's EAGAIN also comes
            // from libmosquitto's wake-up pipe, full in threaded mode as nobody reads it.)
            if isReadable(handle, waitingMillis: 0) { continue }
            // Nothing more to read now.
            if !inbox.isEmpty { break }
            // Nothing received is waiting to become durable, so queued packets (CONNECT's
            // SUBSCRIBE, PINGREQ) may go out.
            writePending()
            let left = deadline - time.monotonicNow()
            guard left > .zero, !isDisconnected else { break }
            _ = isReadable(handle, waitingMillis: Int32(min(left, .milliseconds(50)) / .milliseconds(1)) + 1)
            _ = mosquitto_loop_misc(handle)
        }
        if case .connecting(let since) = state, time.monotonicNow() - since > .seconds(Int64(settings.keepaliveSeconds)) {
            refusal = "no CONNACK within \(settings.keepaliveSeconds) s"
            if let handle { mosquitto_disconnect(handle) }
            lost(MOSQ_ERR_PROTOCOL.rawValue)
        }
        if inbox.isEmpty, case .disconnected(let retryAt) = state {
            let pause = min(deadline, retryAt) - time.monotonicNow()
            if pause > .zero { usleep(UInt32(pause / .microseconds(1))) }
        }
        let messages = inbox
        inbox = []
        inboxBytes = 0
        figures.withLock { $0.inFlight = messages.count }
        return messages
    }

    private func isReadable(_ handle: OpaquePointer, waitingMillis: Int32) -> Bool {
        var poller = pollfd(fd: mosquitto_socket(handle), events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, waitingMillis) > 0
    }

    private var isDisconnected: Bool {
        if case .disconnected = state { true } else { false }
    }

    private func connectIfDue() {
        guard let handle, case .disconnected(let retryAt) = state, time.monotonicNow() >= retryAt else { return }
        publishState("connecting")
        var properties: OpaquePointer?
        if settings.protocolVersion == MQTT_PROTOCOL_V5, !settings.cleanSession {
            _ = mosquitto_property_add_int32(&properties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), settings.sessionExpirySeconds)
        }
        let rc = mosquitto_connect_bind_v5(handle, settings.broker.host, Int32(settings.broker.port), settings.keepaliveSeconds, nil, properties)
        mosquitto_property_free_all(&properties)
        guard rc == MOSQ_ERR_SUCCESS.rawValue else {
            lost(rc)
            return
        }
        state = .connecting(since: time.monotonicNow())
        writePending()
    }

    /// Writes queued packets: PUBACKs of durable messages, SUBSCRIBE, PINGREQ.
    private func writePending() {
        guard let handle, !isDisconnected else { return }
        var tries = 0
        while mosquitto_want_write(handle), tries < 50 {
            let rc = mosquitto_loop_write(handle, 1)
            guard rc == MOSQ_ERR_SUCCESS.rawValue else {
                lost(rc)
                return
            }
            tries += 1
            if mosquitto_want_write(handle) {
                var poller = pollfd(fd: mosquitto_socket(handle), events: Int16(POLLOUT), revents: 0)
                _ = poll(&poller, 1, 100)
            }
        }
        _ = mosquitto_loop_misc(handle)
    }

    /// The connection failed or dropped: schedule a reconnect after the backoff.
    private func lost(_ rc: Int32) {
        let reason = refusal ?? String(cString: mosquitto_strerror(rc))
        refusal = nil
        let wasConnected = state == .connected
        let delay = backoff + .milliseconds(Int.random(in: 0...max(1, Int(backoff / .milliseconds(1)) / 4)))
        state = .disconnected(retryAt: time.monotonicNow() + delay)
        backoff = min(settings.reconnectMax, backoff * 2)
        figures.withLock {
            $0.state = "disconnected"
            $0.subscribed = false
            $0.lastError = reason
        }
        MQTTSourceMetrics.connected(settings.name, false)
        if wasConnected || loggedFailures < 3 || loggedFailures % 20 == 0 {
            logger.warning("MQTT broker connection \(wasConnected ? "lost" : "failed"); reconnecting", metadata: [
                "source": "\(settings.name)", "broker": "\(settings.broker)", "error": "\(reason)",
                "retry_in_ms": "\(delay / .milliseconds(1))",
            ])
        }
        loggedFailures += 1
    }

    private func publishState(_ text: String) {
        figures.withLock { $0.state = text }
    }

    // MARK: - Callbacks (from MosquittoCallbacks.swift, on the queue inside loop_read)

    func didConnect(code: Int32, flags: Int32) {
        guard code == 0 else {
            let text = settings.protocolVersion == MQTT_PROTOCOL_V5
                ? String(cString: mosquitto_reason_string(code)) : String(cString: mosquitto_connack_string(code))
            refusal = "broker refused the connection: \(text)" + MosquittoSession.hint(forRefusal: code, version: settings.protocolVersion)
            return
        }
        state = .connected
        backoff = settings.reconnectMin
        loggedFailures = 0
        let present = flags & 1 == 1
        figures.withLock {
            $0.state = "connected"
            $0.connects += 1
            $0.sessionPresent = present
            $0.subscribed = false
        }
        MQTTSourceMetrics.connected(settings.name, true)
        logger.info("MQTT connected; subscribing", metadata: [
            "source": "\(settings.name)", "broker": "\(settings.broker)", "client_id": "\(settings.clientId)",
            "session_present": "\(present)", "topics": "\(settings.topics.map(\.subscription).joined(separator: " "))",
        ])
        subscribe()
    }

    /// Subscribes to every filter, on every connect: a broker that lost our session (its
    /// restart without persistence, an expired session) must learn them again. Filters
    /// subscribed by an earlier config and no longer listed are unsubscribed, or the
    /// persistent session would keep delivering them.
    private func subscribe() {
        guard let handle else { return }
        let current = settings.topics.map(\.subscription)
        let stale = subscriptions.previous().filter { !current.contains($0) }
        if !stale.isEmpty {
            let rc = Self.withCStrings(stale) { mosquitto_unsubscribe_multiple(handle, nil, $0, $1, nil) }
            logger.info("MQTT: unsubscribing filters no longer in the config", metadata: [
                "source": "\(settings.name)", "topics": "\(stale.joined(separator: " "))", "ok": "\(rc == MOSQ_ERR_SUCCESS.rawValue)",
            ])
        }
        // MQTT v5: resend retained messages only for subscriptions the session did not have.
        let options = settings.protocolVersion == MQTT_PROTOCOL_V5 ? Int32(MQTT_SUB_OPT_SEND_RETAIN_NEW.rawValue) : 0
        let rc = Self.withCStrings(current) { mosquitto_subscribe_multiple(handle, nil, $0, $1, settings.qos, options, nil) }
        if rc != MOSQ_ERR_SUCCESS.rawValue {
            logger.error("MQTT subscribe failed", metadata: ["source": "\(settings.name)", "error": "\(String(cString: mosquitto_strerror(rc)))"])
        }
        subscriptions.remember(current)
    }

    /// Calls `body` with `strings` as a C array of C strings.
    private static func withCStrings(_ strings: [String], _ body: (Int32, UnsafePointer<UnsafeMutablePointer<CChar>?>?) -> Int32) -> Int32 {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        return copies.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: UnsafeMutablePointer<CChar>?.self) { body(Int32($0.count), $0.baseAddress) }
        }
    }

    func didSubscribe(granted: [Int32]) {
        figures.withLock { $0.subscribed = true }
        for (filter, code) in zip(settings.topics, granted) where code >= 0x80 {
            logger.error("the broker refused a subscription; check its ACL for this client id / user", metadata: [
                "source": "\(settings.name)", "topic": "\(filter.subscription)", "reason_code": "\(code)",
            ])
            figures.withLock { $0.lastError = "subscription to \(filter.subscription) refused (reason \(code))" }
        }
    }

    func didDisconnect(code: Int32) {
        if code != 0, refusal == nil { refusal = String(cString: mosquitto_strerror(code)) }
    }

    func didReceive(_ message: MQTTMessage) {
        inboxBytes += message.payload.count
        inbox.append(message)
    }

    /// What to do about a refused CONNECT.
    static func hint(forRefusal code: Int32, version: Int32) -> String {
        switch (version, code) {
        case (MQTT_PROTOCOL_V5, 0x86), (MQTT_PROTOCOL_V5, 0x87), (_, 4), (_, 5):
            "; check username and password (or password_file) in the source's config"
        case (MQTT_PROTOCOL_V5, 0x84), (_, 1):
            "; the broker does not speak this MQTT version: set protocol_version = 4"
        case (MQTT_PROTOCOL_V5, 0x85), (_, 2):
            "; the broker refuses the client id: set client_id to one it accepts"
        default:
            ""
        }
    }
}

/// What failed in an MQTT client.
public enum MQTTSourceProblem: Sendable, Equatable {
    /// libmosquitto could not create a client.
    case clientUnavailable
    /// libmosquitto refused an option (TLS files, credentials, protocol).
    case option
    /// A file the settings name cannot be read.
    case unreadableFile
    /// The broker could not be reached.
    case connect
    /// A publish failed.
    case publish
    /// The client was closed.
    case closed
}

public typealias MQTTSourceError = CodedFailure<MQTTSourceProblem>

