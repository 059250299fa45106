import CMosquitto

// libmosquitto's callbacks, as plain functions in their own file: a closure written in a
// `@main` type or top-level code would be inferred `@MainActor` and die with SIGILL when
// libmosquitto calls it from the session's queue (../shared/FACTS.md, "crash trap").
// They run inside `mosquitto_loop_read`, on the session's serial queue; `userdata` is the
// session, retained until the handle is destroyed.

private func session(_ userdata: UnsafeMutableRawPointer?) -> MosquittoSession? {
    userdata.map { Unmanaged<MosquittoSession>.fromOpaque($0).takeUnretainedValue() }
}

func sluiceMosquittoOnConnect(_ handle: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ code: Int32, _ flags: Int32) {
    session(userdata)?.didConnect(code: code, flags: flags)
}

func sluiceMosquittoOnDisconnect(_ handle: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ code: Int32) {
    session(userdata)?.didDisconnect(code: code)
}

func sluiceMosquittoOnSubscribe(_ handle: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ mid: Int32, _ count: Int32, _ granted: UnsafePointer<Int32>?) {
    let codes = granted.map { Array(UnsafeBufferPointer(start: $0, count: Int(count))) } ?? []
    session(userdata)?.didSubscribe(granted: codes)
}

/// Copies the topic and payload: libmosquitto frees the message when this returns.
func sluiceMosquittoOnMessage(_ handle: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ message: UnsafePointer<mosquitto_message>?) {
    guard let message = message?.pointee, let topic = message.topic else { return }
    let payload = message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(message.payloadlen))) } ?? []
    session(userdata)?.didReceive(MQTTMessage(topic: String(cString: topic), payload: payload, qos: message.qos, retain: message.retain))
}
