import ArgumentParser
import Foundation
import Logging
import SluiceEngine
import SluiceGateway
import SluiceMQTT

/// `sluice-bench mqtt-publish`: the MQTT load generator (tests and benchmarks use it).
/// Message `i` goes to device `i % devices` with sequence number `i / devices`, so each
/// device's messages carry increasing `seq` values.
struct MQTTPublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mqtt-publish",
        abstract: "Publish device messages over libmosquitto and record which ones the broker acknowledged."
    )
    @Option(help: "mqtt://HOST:PORT") var broker = "mqtt://127.0.0.1:1883"
    @Option(help: "Topic; {device} becomes the device id.") var topic = "devices/{device}/telemetry"
    @Option(help: "Devices (message i goes to device i % devices).") var devices = 200
    @Option(help: "Messages in all.") var messages = 20_000
    @Option(help: "QoS 0, 1 or 2.") var qos: Int32 = 1
    @Option(help: "Payload bytes (JSON with device, seq and padding).") var payloadBytes = 100
    @Option(help: "Send this text as every message's payload instead.") var payload: String?
    @Option(help: "Client id for a persistent session (resends after a broker restart); none: a clean session.") var clientId: String?
    @Option(help: "Messages per second; 0: as fast as the broker acknowledges.") var rate = 0
    @Option(help: "Messages awaiting acknowledgement at most.") var maxOutstanding = 1_000
    @Option(help: "Write one 'DEVICE SEQ' line per acknowledged message here.") var ackedFile: String?
    @Option(help: "Seconds to wait for the last acknowledgements.") var waitSeconds = 60

    func run() throws {
        let publisher = try MosquittoPublisher(options: .init(
            broker: try BrokerAddress(parsing: broker), clientId: clientId, qos: qos, maxOutstanding: maxOutstanding
        ))
        let start = ContinuousClock.now
        let rate = self.rate
        try MQTTLoad.publish(publisher, topic: topic, messages: messages, devices: devices, payloadBytes: payloadBytes, fixedPayload: payload.map { Array($0.utf8) }) { index in
            guard rate > 0 else { return }
            let due = start + .seconds(Double(index + 1) / Double(rate))
            if due > .now { Thread.sleep(forTimeInterval: (due - .now) / .seconds(1)) }
        }
        let complete = publisher.waitForAcknowledgements(timeout: .seconds(waitSeconds))
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        let acked = publisher.acknowledged
        publisher.close()
        if let ackedFile {
            let lines = acked.map { "\(MQTTLoad.device(Int($0) % devices)) \(Int($0) / devices)\n" }.joined()
            try lines.write(toFile: ackedFile, atomically: false, encoding: .utf8)
        }
        let summary: [String: Any] = [
            "published": messages, "acknowledged": acked.count, "complete": complete, "seconds": elapsed,
            "messages_per_second": Double(acked.count) / elapsed, "connects": publisher.connects,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
    }
}

enum MQTTLoad {
    static func device(_ number: Int) -> String {
        "dev-" + String(repeating: "0", count: max(0, 4 - String(number).count)) + String(number)
    }

    /// Publishes message `i` to device `i % devices` (`{device}` in `topic`) with sequence
    /// number `i / devices`; `pace(i)` runs after each.
    static func publish(_ publisher: MosquittoPublisher, topic: String, messages: Int, devices: Int, payloadBytes: Int,
                        fixedPayload: [UInt8]? = nil, pace: (Int) -> Void = { _ in }) throws {
        for index in 0..<messages {
            let device = Self.device(index % devices)
            try publisher.publish(
                topic: topic.replacingOccurrences(of: "{device}", with: device),
                payload: fixedPayload ?? payload(device: device, seq: index / devices, bytes: payloadBytes), tag: UInt64(index)
            )
            pace(index)
        }
    }

    /// One whole QoS 1 load: connect, publish every message, wait for the acknowledgements.
    static func send(to address: BrokerAddress, protocolVersion: Int32 = 5, topic: String, messages: Int, devices: Int, payloadBytes: Int) throws {
        let publisher = try MosquittoPublisher(options: .init(broker: address, qos: 1, maxOutstanding: 1_000, protocolVersion: protocolVersion))
        defer { publisher.close() }
        try publish(publisher, topic: topic, messages: messages, devices: devices, payloadBytes: payloadBytes)
        _ = publisher.waitForAcknowledgements(timeout: .seconds(120))
    }

    /// `{"device":"dev-0007","seq":12,"pad":"xxx..."}`, padded to `bytes`.
    static func payload(device: String, seq: Int, bytes: Int) -> [UInt8] {
        let head = "{\"device\":\"\(device)\",\"seq\":\(seq),\"pad\":\""
        return Array((head + String(repeating: "x", count: max(0, bytes - head.utf8.count - 2)) + "\"}").utf8)
    }
}

/// `sluice-bench mqtt`: in the same run, the receive rate of a plain libmosquitto
/// subscriber and sluiced's MQTT-to-durable-engine rate for the same QoS 1 load, against a
/// mosquitto broker the benchmark starts on 127.0.0.1.
struct MQTTBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mqtt", abstract: "MQTT ingest to durable storage against a plain libmosquitto subscriber.")
    @Option(help: "Messages per run.") var messages = 100_000
    @Option(help: "Payload bytes.") var payloadBytes = 100
    @Option(help: "Devices.") var devices = 200
    @Option(help: "Runs (the median is reported).") var runs = 3
    @Option(help: "Shards of the stream.") var shards = 4
    @Option(help: "Broker port on 127.0.0.1.") var port = 18_883

    func run() async throws {
        let broker = try BenchServer.mosquitto(port: port)
        defer { broker.stop() }
        let address = BrokerAddress(host: "127.0.0.1", port: port, tls: false)
        var results: [String: [Double]] = [:]
        let (natsPort, natsMQTTPort) = (port + 1, port + 2)
        let nats = try? BenchServer.nats(port: natsPort, mqttPort: natsMQTTPort)
        defer { nats?.stop() }
        for run in 0..<runs {
            if nats != nil { results["nats", default: []].append(try await natsJetStream(port: natsPort, mqttPort: natsMQTTPort, run: run)) }
            for mode in ["live", "backlog"] {
                results["plain-\(mode)", default: []].append(try await plain(address, run: run, backlog: mode == "backlog"))
                results["sluice-\(mode)", default: []].append(try await sluice(address, run: run, backlog: mode == "backlog"))
            }
        }
        for mode in ["live", "backlog"] {
            let plain = median(results["plain-\(mode)"]!)
            let sluice = median(results["sluice-\(mode)"]!)
            print(String(
                format: "mqtt %@: %d QoS 1 messages of %d B, %d devices, %d runs: plain subscriber %.0f msg/s (%@), sluice to durable engine %.0f msg/s (%@); ratio %.2f  [%@ 0.9 goal]",
                mode, messages, payloadBytes, devices, runs, plain, spread(results["plain-\(mode)"]!), sluice, spread(results["sluice-\(mode)"]!),
                sluice / plain, sluice / plain >= 0.9 ? "PASS" : "FAIL"
            ))
        }
        if let natsRates = results["nats"] {
            let sluice = median(results["sluice-live"]!)
            print(String(format: "mqtt nats: %d QoS 1 messages (MQTT 3.1.1) into nats-server's MQTT listener, stored by a JetStream file stream: %.0f msg/s (%@); sluice %.2fx of it",
                         messages, median(natsRates), spread(natsRates), sluice / median(natsRates)))
        } else {
            print("mqtt nats: not measured (nats-server not installed)")
        }
    }

    /// Publishes the load; in backlog mode before the consumer connects (it drains the
    /// session's queue), else while it consumes. Returns messages per second until
    /// `count()` reaches the load.
    private func drive(_ address: BrokerAddress, backlog: Bool, topicPrefix: String, count: @escaping @Sendable () -> Int,
                       connect: () async throws -> Void) async throws -> Double {
        let (messages, devices, payloadBytes) = (self.messages, self.devices, self.payloadBytes)
        let publish: @Sendable () throws -> Void = {
            try MQTTLoad.send(to: address, topic: "\(topicPrefix)/{device}/t", messages: messages, devices: devices, payloadBytes: payloadBytes)
        }
        var start = ContinuousClock.now
        if backlog {
            try publish()
            start = .now
            try await connect()
        } else {
            try await connect()
            start = .now
            Thread.detachNewThread { try? publish() }
        }
        let deadline = ContinuousClock.now + .seconds(300)
        while count() < messages, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        return Double(messages) / ((ContinuousClock.now - start) / .seconds(1))
    }

    private func plain(_ address: BrokerAddress, run: Int, backlog: Bool) async throws -> Double {
        let id = "bench-plain-\(run)-\(backlog)"
        let prefix = "bench/plain\(run)\(backlog)"
        var subscriber: BaselineSubscriber?
        if backlog {
            // Create the session and its subscription, then go away so the broker queues.
            let first = try BaselineSubscriber(broker: address, clientId: id, filter: prefix + "/+/t")
            try await Self.waitUntil { first.isConnected }
            try await Task.sleep(for: .milliseconds(200))
            first.close()
        }
        let box = Box<BaselineSubscriber>()
        let rate = try await drive(address, backlog: backlog, topicPrefix: prefix, count: { box.value?.count ?? 0 }) {
            let s = try BaselineSubscriber(broker: address, clientId: id, filter: prefix + "/+/t")
            box.value = s
            subscriber = s
            try await Self.waitUntil { s.isConnected }
            try await Task.sleep(for: .milliseconds(200))
        }
        subscriber?.close()
        return rate
    }

    private func sluice(_ address: BrokerAddress, run: Int, backlog: Bool) async throws -> Double {
        let rig = try await GatewayRig(shards: shards, rates: .init(bytesPerSecond: 1 << 30, recordsPerSecond: 10_000_000), spoolMaxBytes: 1 << 30, engineLimits: false)
        let prefix = "bench/sluice\(run)\(backlog)"
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let filter = try TopicFilter(prefix + "/{device}/t")
        let template = try PartitionKeyTemplate("{device}", allowedCaptures: ["device"])
        let settings = MQTTSourceSettings(
            name: "bench", stream: "bench", broker: address, clientId: "bench-sluice-\(run)-\(backlog)", topics: [filter],
            builder: RecordBuilder(parser: .raw, mapper: PartitionKeyMapper(template: template), addMetadata: false, host: "bench", maxRecordBytes: 1 << 20, marker: [])
        )
        func start() async throws -> (MQTTSource, Task<Void, any Error>) {
            let source = try MQTTSource(settings: settings, gateway: rig.gateway, logger: logger)
            let task = Task { try await source.run() }
            try await Self.waitUntil { source.status.connection?.state == "connected" }
            try await Task.sleep(for: .milliseconds(200))
            return (source, task)
        }
        if backlog {
            let (_, task) = try await start()
            task.cancel()
            _ = await task.result
        }
        let box = Box<MQTTSource>()
        var running: Task<Void, any Error>?
        let rate = try await drive(address, backlog: backlog, topicPrefix: prefix, count: { Int(box.value?.status.records ?? 0) }) {
            let (source, task) = try await start()
            box.value = source
            running = task
        }
        running?.cancel()
        _ = await running?.result
        await rig.finish()
        return rate
    }

    /// The same load published to nats-server's MQTT listener (MQTT 3.1.1: NATS 2.9 has no
    /// v5), stored by a JetStream file stream over its subjects; messages per second until
    /// the stream holds them all.
    private func natsJetStream(port natsPort: Int, mqttPort: Int, run: Int) async throws -> Double {
        let name = "benchnats\(run)"
        try NATSWriter.createStream(port: natsPort, name: name)
        let address = BrokerAddress(host: "127.0.0.1", port: mqttPort, tls: false)
        let (messages, devices, payloadBytes) = (self.messages, self.devices, self.payloadBytes)
        let start = ContinuousClock.now
        Thread.detachNewThread {
            try? MQTTLoad.send(to: address, protocolVersion: 4, topic: "\(name)/{device}/t", messages: messages, devices: devices, payloadBytes: payloadBytes)
        }
        let deadline = ContinuousClock.now + .seconds(300)
        while (try? NATSWriter.streamMessages(port: natsPort, name: name)) ?? 0 < messages, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        return Double(messages) / ((ContinuousClock.now - start) / .seconds(1))
    }

    static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw ValidationError("timed out waiting for the MQTT client to connect") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// "min–max" of the runs.
func spread(_ values: [Double]) -> String {
    String(format: "%.0f–%.0f", values.min() ?? 0, values.max() ?? 0)
}

/// A value set once from one task and read from another.
final class Box<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?
    var value: Value? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// A server the benchmark starts on 127.0.0.1 from a config it writes to a temporary
/// directory, and stops (removing the directory) at the end.
final class BenchServer {
    let process = Process()
    let directory: String

    /// - Parameters:
    ///   - config: the config file's text, given the directory.
    ///   - settle: seconds to give the server to listen.
    init(name: String, binaries: [String], install: String, config: (String) -> String, settle: TimeInterval) throws {
        directory = NSTemporaryDirectory() + "sluice-bench-\(name)-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try config(directory).write(toFile: directory + "/\(name).conf", atomically: false, encoding: .utf8)
        guard let binary = binaries.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ValidationError("\(name) is not installed (\(install))")
        }
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-c", directory + "/\(name).conf"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        Thread.sleep(forTimeInterval: settle)
    }

    /// mosquitto with the settings the README asks of production brokers (no queue bound
    /// for persistent sessions).
    static func mosquitto(port: Int) throws -> BenchServer {
        try BenchServer(name: "mosquitto", binaries: ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"],
                        install: "apt-get install -y mosquitto; scripts/setup.sh does it", config: { _ in """
            listener \(port) 127.0.0.1
            allow_anonymous true
            max_queued_messages 0
            max_inflight_messages 0
            persistence false

            """ }, settle: 0.5)
    }

    /// nats-server with JetStream (file storage) and its MQTT listener.
    static func nats(port: Int, mqttPort: Int) throws -> BenchServer {
        try BenchServer(name: "nats-server", binaries: ["/usr/sbin/nats-server", "/usr/bin/nats-server"],
                        install: "apt-get install -y nats-server; scripts/bench.sh does it", config: { directory in """
            listen: 127.0.0.1:\(port)
            server_name: sluice-bench
            jetstream { store_dir: "\(directory)/js" }
            mqtt { listen: 127.0.0.1:\(mqttPort) }

            """ }, settle: 1)
    }

    func stop() {
        process.terminate()
        // mosquitto has been seen to ignore SIGTERM at the end of a run: do not hang on it.
        for _ in 0..<50 where process.isRunning { usleep(100_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
