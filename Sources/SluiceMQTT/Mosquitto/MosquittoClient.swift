import CMosquitto
import Glibc
import SluiceStorage

/// A libmosquitto client handle and the owner its callbacks receive as `userdata`,
/// created and freed together: the owner is retained for as long as the handle lives
/// and released only after `mosquitto_destroy`, so no callback reaches a freed owner
/// (../shared/FACTS.md). Used by the source's session and, in `sluice-bench`, the load
/// generator and the baseline subscriber.
package struct MosquittoClient<Owner: AnyObject> {
    package private(set) var handle: OpaquePointer?
    private var owner: Unmanaged<Owner>?

    package init() {}

    /// Creates the handle with `owner` as its callbacks' `userdata`.
    package mutating func create(clientId: String?, cleanSession: Bool, owner: Owner) throws -> OpaquePointer {
        MosquittoLibrary.initialize()
        let retained = Unmanaged.passRetained(owner)
        guard let created = mosquitto_new(clientId, cleanSession, retained.toOpaque()) else {
            retained.release()
            throw MQTTSourceError(.clientUnavailable, "cannot create an MQTT client (\(String(cString: strerror(errno))))")
        }
        handle = created
        self.owner = retained
        return created
    }

    /// Frees the client. `stopThread`: it runs libmosquitto's own network thread
    /// (`mosquitto_loop_start`), which is disconnected and joined first.
    package mutating func destroy(stopThread: Bool = false) {
        guard let handle else { return }
        if stopThread {
            mosquitto_disconnect(handle)
            mosquitto_loop_stop(handle, false)
        }
        mosquitto_destroy(handle)
        self.handle = nil
        owner?.release()
        owner = nil
    }
}

/// libmosquitto's process-wide setup, done once.
enum MosquittoLibrary {
    private static let done: Bool = {
        mosquitto_lib_init()
        return true
    }()

    static func initialize() { _ = done }
}
