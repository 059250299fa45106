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
        for index in 0..<messages {
            let (device, seq) = (MQTTLoad.device(index % devices), index / devices)
            try publisher.publish(
                topic: topic.replacingOccurrences(of: "{device}", with: device),
                payload: payload.map { Array($0.utf8) } ?? MQTTLoad.payload(device: device, seq: seq, bytes: payloadBytes), tag: UInt64(index)
            )
            if rate > 0 {
                let due = start + .seconds(Double(index + 1) / Double(rate))
                if due > .now { Thread.sleep(forTimeInterval: (due - .now) / .seconds(1)) }
            }
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
        let broker = try BenchBroker(port: port)
        defer { broker.stop() }
        let address = BrokerAddress(host: "127.0.0.1", port: port, tls: false)
        var results: [String: [Double]] = [:]
        let nats = try? BenchNATS(port: port + 1, mqttPort: port + 2)
        defer { nats?.stop() }
        for run in 0..<runs {
            if let nats { results["nats", default: []].append(try await natsJetStream(nats, run: run)) }
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
            let publisher = try MosquittoPublisher(options: .init(broker: address, qos: 1, maxOutstanding: 1_000))
            for index in 0..<messages {
                let device = MQTTLoad.device(index % devices)
                try publisher.publish(topic: "\(topicPrefix)/\(device)/t", payload: MQTTLoad.payload(device: device, seq: index / devices, bytes: payloadBytes), tag: UInt64(index))
            }
            _ = publisher.waitForAcknowledgements(timeout: .seconds(120))
            publisher.close()
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
    private func natsJetStream(_ nats: BenchNATS, run: Int) async throws -> Double {
        let name = "benchnats\(run)"
        try NATSWriter.createStream(port: nats.port, name: name)
        let address = BrokerAddress(host: "127.0.0.1", port: nats.mqttPort, tls: false)
        let (messages, devices, payloadBytes) = (self.messages, self.devices, self.payloadBytes)
        let start = ContinuousClock.now
        Thread.detachNewThread {
            guard let publisher = try? MosquittoPublisher(options: .init(broker: address, qos: 1, maxOutstanding: 1_000, protocolVersion: 4)) else { return }
            for index in 0..<messages {
                let device = MQTTLoad.device(index % devices)
                try? publisher.publish(topic: "\(name)/\(device)/t", payload: MQTTLoad.payload(device: device, seq: index / devices, bytes: payloadBytes), tag: UInt64(index))
            }
            _ = publisher.waitForAcknowledgements(timeout: .seconds(120))
            publisher.close()
        }
        let deadline = ContinuousClock.now + .seconds(300)
        while (try? NATSWriter.streamMessages(port: nats.port, name: name)) ?? 0 < messages, ContinuousClock.now < deadline {
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

/// A mosquitto broker on 127.0.0.1 for the benchmark, with the settings the README asks
/// of production brokers (no queue bound for persistent sessions).
final class BenchBroker {
    let process = Process()
    let directory: String

    init(port: Int) throws {
        directory = NSTemporaryDirectory() + "sluice-bench-mosquitto-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = """
        listener \(port) 127.0.0.1
        allow_anonymous true
        max_queued_messages 0
        max_inflight_messages 0
        persistence false

        """
        try config.write(toFile: directory + "/mosquitto.conf", atomically: false, encoding: .utf8)
        guard let binary = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ValidationError("mosquitto is not installed (apt-get install -y mosquitto; scripts/setup.sh does it)")
        }
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-c", directory + "/mosquitto.conf"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        Thread.sleep(forTimeInterval: 0.5)
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// nats-server with JetStream (file storage) and its MQTT listener, for the comparison.
final class BenchNATS {
    let process = Process()
    let directory: String
    let port: Int
    let mqttPort: Int

    init(port: Int, mqttPort: Int) throws {
        self.port = port
        self.mqttPort = mqttPort
        directory = NSTemporaryDirectory() + "sluice-bench-nats-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try """
        listen: 127.0.0.1:\(port)
        server_name: sluice-bench
        jetstream { store_dir: "\(directory)/js" }
        mqtt { listen: 127.0.0.1:\(mqttPort) }

        """.write(toFile: directory + "/nats.conf", atomically: false, encoding: .utf8)
        guard let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ValidationError("nats-server is not installed")
        }
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-c", directory + "/nats.conf"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        Thread.sleep(forTimeInterval: 1)
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
