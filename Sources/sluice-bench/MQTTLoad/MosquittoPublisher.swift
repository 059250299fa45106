import CMosquitto
import Dispatch
import Glibc
import SluiceMQTT
import SluiceStorage
import Synchronization

/// A bulk QoS 0/1/2 publisher over libmosquitto, for benchmarks and tests: neither
/// `mosquitto_pub -l` nor paho-mqtt is a reliable bulk QoS 1 publisher (../shared/FACTS.md).
///
/// Each message carries a caller's tag; `acknowledged` lists the tags the broker
/// acknowledged (PUBACK / PUBCOMP; QoS 0: handed to the library), which is what "nothing
/// acknowledged is lost" is checked against. At most `maxOutstanding` messages wait for
/// their acknowledgement. With a `clientId` the session is persistent, so after a broker
/// restart libmosquitto resends what was not acknowledged once it reconnects.
public final class MosquittoPublisher: @unchecked Sendable {
    public struct Options: Sendable {
        public var broker: BrokerAddress
        public var clientId: String?
        public var qos: Int32 = 1
        public var maxOutstanding = 1_000
        public var protocolVersion: Int32 = 5

        public init(broker: BrokerAddress, clientId: String? = nil, qos: Int32 = 1, maxOutstanding: Int = 1_000, protocolVersion: Int32 = 5) {
            self.broker = broker
            self.clientId = clientId
            self.qos = qos
            self.maxOutstanding = maxOutstanding
            self.protocolVersion = protocolVersion
        }
    }

    private struct Ledger {
        var pending: [Int32: UInt64] = [:]
        /// Acknowledgements that arrived before `publish` recorded their message id.
        var early: Set<Int32> = []
        var acknowledged: [UInt64] = []
        var connected = false
        var connects = 0
    }

    let options: Options
    private var client = MosquittoClient<MosquittoPublisher>()
    private var handle: OpaquePointer? { client.handle }
    private let ledger = Mutex(Ledger())
    private let slots: DispatchSemaphore

    /// Connects; libmosquitto's own thread then keeps the connection (and reconnects).
    public init(options: Options) throws {
        self.options = options
        slots = DispatchSemaphore(value: options.maxOutstanding)
        let handle = try client.create(clientId: options.clientId, cleanSession: options.clientId == nil, owner: self)
        _ = mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, options.protocolVersion)
        _ = mosquitto_int_option(handle, MOSQ_OPT_SEND_MAXIMUM, Int32(min(65_535, options.maxOutstanding)))
        _ = mosquitto_max_inflight_messages_set(handle, UInt32(options.maxOutstanding))
        _ = mosquitto_reconnect_delay_set(handle, 1, 2, false)
        mosquitto_connect_with_flags_callback_set(handle, sluicePublisherOnConnect)
        mosquitto_disconnect_callback_set(handle, sluicePublisherOnDisconnect)
        mosquitto_publish_callback_set(handle, sluicePublisherOnPublish)
        var properties: OpaquePointer?
        if options.protocolVersion == MQTT_PROTOCOL_V5, options.clientId != nil {
            _ = mosquitto_property_add_int32(&properties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), UInt32.max)
        }
        let rc = mosquitto_connect_bind_v5(handle, options.broker.host, Int32(options.broker.port), 30, nil, properties)
        mosquitto_property_free_all(&properties)
        guard rc == MOSQ_ERR_SUCCESS.rawValue else {
            close()
            throw MQTTSourceError(.connect, "cannot connect to \(options.broker): \(String(cString: mosquitto_strerror(rc)))")
        }
        _ = mosquitto_loop_start(handle)
    }

    /// Publishes one message tagged `tag`; waits while `maxOutstanding` are unacknowledged
    /// or the client is disconnected.
    public func publish(topic: String, payload: [UInt8], tag: UInt64) throws {
        guard let handle else { throw MQTTSourceError(.closed, "publisher closed") }
        slots.wait()
        while !ledger.withLock({ $0.connected }) { usleep(5_000) }
        var mid: Int32 = 0
        let rc = payload.withUnsafeBytes { mosquitto_publish(handle, &mid, topic, Int32($0.count), $0.baseAddress, options.qos, false) }
        // NO_CONN: the connection dropped just now; the message is queued and goes out
        // after the reconnect.
        guard rc == MOSQ_ERR_SUCCESS.rawValue || rc == MOSQ_ERR_NO_CONN.rawValue else {
            slots.signal()
            throw MQTTSourceError(.publish, "publish failed: \(String(cString: mosquitto_strerror(rc)))")
        }
        if options.qos == 0 {
            ledger.withLock { $0.acknowledged.append(tag) }
            slots.signal()
            return
        }
        let early = ledger.withLock { ledger -> Bool in
            if ledger.early.remove(mid) != nil {
                ledger.acknowledged.append(tag)
                return true
            }
            ledger.pending[mid] = tag
            return false
        }
        if early { slots.signal() }
    }

    /// Waits until every published message is acknowledged, up to `timeout`.
    /// - Returns: whether all were.
    public func waitForAcknowledgements(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if ledger.withLock({ $0.pending.isEmpty }) { return true }
            usleep(10_000)
        }
        return false
    }

    /// Tags of the messages the broker acknowledged, in acknowledgement order.
    public var acknowledged: [UInt64] { ledger.withLock { $0.acknowledged } }
    /// Successful connections (1 + reconnects).
    public var connects: Int { ledger.withLock { $0.connects } }

    /// Disconnects and frees the client (unacknowledged messages are abandoned).
    public func close() {
        client.destroy(stopThread: true)
    }

    func didConnect(code: Int32) {
        ledger.withLock {
            $0.connected = code == 0
            if code == 0 { $0.connects += 1 }
        }
    }

    func didDisconnect() {
        ledger.withLock { $0.connected = false }
    }

    func didPublish(mid: Int32) {
        guard options.qos > 0 else { return }
        let known = ledger.withLock { ledger -> Bool in
            guard let tag = ledger.pending.removeValue(forKey: mid) else {
                ledger.early.insert(mid)
                return false
            }
            ledger.acknowledged.append(tag)
            return true
        }
        if known { slots.signal() }
    }
}

// libmosquitto's callbacks for the publisher: plain functions (see MosquittoCallbacks.swift).

private func publisher(_ userdata: UnsafeMutableRawPointer?) -> MosquittoPublisher? {
    userdata.map { Unmanaged<MosquittoPublisher>.fromOpaque($0).takeUnretainedValue() }
}

func sluicePublisherOnConnect(_ handle: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ code: Int32, _ flags: Int32) {
    publisher(userdata)?.didConnect(code: code)
}

func sluicePublisherOnDisconnect(_ handle: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ code: Int32) {
    publisher(userdata)?.didDisconnect()
}

func sluicePublisherOnPublish(_ handle: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ mid: Int32) {
    publisher(userdata)?.didPublish(mid: mid)
}
