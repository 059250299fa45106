import Logging
import ServiceLifecycle
import SluiceEngine
import SluiceGateway
import Synchronization

/// Subscribes to a `[[sources.mqtt]]` entry's topic filters and hands each message to the
/// gateway as a keyed record; acknowledges messages to the broker only once the gateway
/// made them durable (in the engine or the spool).
///
/// The loop: receive up to `max_in_flight_messages` (what came in while the last batch
/// was stored: a natural group commit), build records, store them, acknowledge. While
/// the gateway blocks (a full spool under `on_full = "block"`) nothing is read, so the
/// broker holds the messages in our persistent session, not this process's memory.
public final class MQTTSource: Service, Sendable {
    let settings: MQTTSourceSettings
    let logger: Logger
    private let session: MosquittoSession
    private let recorder: SourceRecorder
    private let loop = SourceLoop()

    /// - Throws: `MQTTSourceError` when the client cannot be set up (TLS files).
    public init(settings: MQTTSourceSettings, gateway: Gateway, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        session = try MosquittoSession(settings: settings, fileSystem: gateway.fileSystem, time: gateway.time, logger: logger)
        recorder = SourceRecorder(name: settings.name, stream: settings.stream, errorStream: settings.parseErrorStream, gateway: gateway, logger: logger)
        MQTTSourceMetrics.connected(settings.name, false)
    }

    public var status: GatewayStatus.Source {
        let counts = recorder.counts
        let figures = session.figures.withLock { $0 }
        return GatewayStatus.Source(
            name: settings.name, kind: "mqtt", stream: settings.stream, records: counts.records, parseErrors: counts.parseErrors,
            truncated: counts.truncated, dropped: counts.dropped, keyFallbacks: settings.builder.mapper.fallbackCount,
            connection: GatewayStatus.Connection(
                broker: settings.broker.description, clientId: settings.clientId, state: figures.state, connects: figures.connects,
                sessionPresent: figures.sessionPresent, subscribed: figures.subscribed, inFlightMessages: figures.inFlight, lastError: figures.lastError
            )
        )
    }

    public func run() async throws {
        do {
            try await loop.run({ try await self.receiveLoop() }) {
                logger.info("stopped while waiting for spool room; the broker delivers the waiting messages again at the next start", metadata: ["source": "\(settings.name)"])
            }
        } catch {
            await session.close()
            throw error
        }
        // Nothing unstored is held now; an unacknowledged batch is delivered again at the
        // next start.
        await session.close()
    }

    private func receiveLoop() async throws {
        while !loop.isStopping, !Task.isCancelled {
            let messages = await session.receive(wait: .milliseconds(200))
            if !messages.isEmpty {
                settings.builder.mapper.deviceMap?.reloadIfChanged()
                let batch = prepare(messages)
                if batch.main.isEmpty && batch.errors.isEmpty {
                    recorder.count(batch)
                } else {
                    try await recorder.store(batch)
                }
            }
            await session.acknowledge()
        }
    }

    private func prepare(_ messages: [MQTTMessage]) -> SourceBatch {
        var batch = SourceBatch()
        for message in messages {
            let captures = settings.topics.lazy.compactMap { $0.match(message.topic) }.first ?? [:]
            let built = settings.builder.build(message.payload, filePath: nil, topic: message.topic, captures: captures)
            if built.truncated && settings.onOversize == .drop {
                batch.drop()
                logger.warning("dropped an oversize MQTT message (on_oversize = \"drop\")", metadata: [
                    "source": "\(settings.name)", "topic": "\(message.topic)", "bytes": "\(message.payload.count)",
                ])
                continue
            }
            batch.add(built, hasErrorStream: settings.parseErrorStream != nil)
        }
        return batch
    }
}
