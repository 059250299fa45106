import Metrics

/// The MQTT source's own gauges (the record counters are `SourceRecorder`'s).
enum MQTTSourceMetrics {
    /// `MQTTConnected{source}`: 1 while connected to the broker, else 0.
    static func connected(_ source: String, _ isConnected: Bool) {
        Gauge(label: "MQTTConnected", dimensions: [("source", source)]).record(isConnected ? 1 : 0)
    }
}
