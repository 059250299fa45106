import CMosquitto
import Glibc
import SluiceMQTT
import SluiceStorage
import Synchronization

/// The plain libmosquitto subscriber the MQTT benchmark measures Sluice against: the
/// library's own network thread (`mosquitto_loop_start`), acknowledging as libmosquitto
/// does by default (before the message is handed over) and only counting what arrives.
/// It stores nothing, so its rate is the ceiling for any subscriber on this machine.
public final class BaselineSubscriber: @unchecked Sendable {
    private var client = MosquittoClient<BaselineSubscriber>()
    private var handle: OpaquePointer? { client.handle }
    private let received = Atomic<Int>(0)
    private let connected = Atomic<Bool>(false)
    let filter: String
    let qos: Int32

    /// Connects with a persistent session (`clientId`) and subscribes to `filter`.
    public init(broker: BrokerAddress, clientId: String, filter: String, qos: Int32 = 1) throws {
        self.filter = filter
        self.qos = qos
        let handle = try client.create(clientId: clientId, cleanSession: false, owner: self)
        _ = mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5)
        _ = mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1)
        mosquitto_connect_with_flags_callback_set(handle, sluiceBaselineOnConnect)
        mosquitto_message_callback_set(handle, sluiceBaselineOnMessage)
        var properties: OpaquePointer?
        _ = mosquitto_property_add_int32(&properties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), UInt32.max)
        let rc = mosquitto_connect_bind_v5(handle, broker.host, Int32(broker.port), 60, nil, properties)
        mosquitto_property_free_all(&properties)
        guard rc == MOSQ_ERR_SUCCESS.rawValue else {
            close()
            throw MQTTSourceError(.connect, "cannot connect to \(broker): \(String(cString: mosquitto_strerror(rc)))")
        }
        _ = mosquitto_loop_start(handle)
    }

    public var count: Int { received.load(ordering: .relaxed) }
    public var isConnected: Bool { connected.load(ordering: .relaxed) }

    public func close() {
        client.destroy(stopThread: true)
    }

    func didConnect(_ handle: OpaquePointer?, code: Int32) {
        guard code == 0 else { return }
        _ = mosquitto_subscribe(handle, nil, filter, qos)
        connected.store(true, ordering: .relaxed)
    }

    func didReceive(bytes: Int) {
        received.add(1, ordering: .relaxed)
    }
}

private func baseline(_ userdata: UnsafeMutableRawPointer?) -> BaselineSubscriber? {
    userdata.map { Unmanaged<BaselineSubscriber>.fromOpaque($0).takeUnretainedValue() }
}

func sluiceBaselineOnConnect(_ handle: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ code: Int32, _ flags: Int32) {
    baseline(userdata)?.didConnect(handle, code: code)
}

func sluiceBaselineOnMessage(_ handle: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ message: UnsafePointer<mosquitto_message>?) {
    baseline(userdata)?.didReceive(bytes: Int(message?.pointee.payloadlen ?? 0))
}
