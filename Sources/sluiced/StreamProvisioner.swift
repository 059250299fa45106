import Logging
import SluiceConfiguration
import SluiceEngine

/// Creates the streams the config lists (when missing) and brings their retention in
/// line. It never deletes or reshards a stream: that stays an explicit API call.
struct StreamProvisioner {
    let engine: StreamEngine
    let logger: Logger

    func apply(_ streams: [SluiceConfig.Stream]) async throws {
        for stream in streams {
            if let reason = engine.catalog.quarantineReason(of: stream.name) {
                logger.error("configured stream is quarantined; not created, not changed", metadata: ["stream": "\(stream.name)", "reason": "\(reason)"])
                continue
            }
            let existing = try? engine.catalog.metadata(of: stream.name)
            if existing == nil {
                try engine.catalog.createStream(name: stream.name, shardCount: stream.shards, mode: stream.onDemand ? .onDemand : .provisioned)
            } else if let shards = stream.shards, existing!.openShards.count != shards {
                logger.warning("stream exists with a different shard count; leaving it as it is (reshard with UpdateShardCount)", metadata: [
                    "stream": "\(stream.name)", "configured": "\(shards)", "open_shards": "\(existing!.openShards.count)",
                ])
            }
            engine.writer.setStorageBound(stream: stream.name, stream.bound)
            let current = try engine.catalog.metadata(of: stream.name).retentionHours
            if current != stream.retentionHours {
                try engine.catalog.setRetention(stream: stream.name, hours: stream.retentionHours, increase: stream.retentionHours > current)
            }
        }
    }

    /// Switches every stream stored in clear to the key file's default key: with
    /// `encrypt_all_streams`, records put from now on are never stored in clear.
    func encryptAll() throws {
        for name in engine.catalog.streamNames() where try engine.catalog.metadata(of: name).encryptionType != "KMS" {
            try engine.catalog.startEncryption(stream: name, keyId: "alias/aws/kinesis")
            logger.info("stream encrypted from now on", metadata: ["stream": "\(name)"])
        }
    }
}
