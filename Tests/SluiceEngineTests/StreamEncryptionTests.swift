import Crypto
import Testing
import SluiceStorage
import SluiceTestSupport
@testable import SluiceEngine

@Suite struct StreamEncryptionTests {
    let keys = StaticKeyProvider([
        MasterKey(id: "edge", version: 1, secret: SymmetricKey(size: .bits256)),
        MasterKey(id: "other", version: 1, secret: SymmetricKey(size: .bits256)),
    ])

    @Test func streamsAreEncryptedByDefaultWithAKeyFileAndSwitchable() async throws {
        var fixture = EngineFixture()
        fixture.options.keys = keys
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        #expect(try engine.catalog.metadata(of: "s").encryptionType == "KMS")
        #expect(try engine.catalog.metadata(of: "s").keyId == "edge")
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "one"))
        try engine.catalog.stopEncryption(stream: "s")
        #expect(try engine.catalog.metadata(of: "s").encryptionType == "NONE")
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "two"))
        try engine.catalog.startEncryption(stream: "s", keyId: "other")
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "three"))
        #expect { try engine.catalog.startEncryption(stream: "s", keyId: "nope") } throws: { ($0 as? EngineError)?.kind == .kmsNotFound }
        try engine.catalog.startEncryption(stream: "s", keyId: "alias/aws/kinesis")
        #expect(try engine.catalog.metadata(of: "s").keyId == "edge")
        await engine.close()
        let reopened = try fixture.open()
        #expect(try reopened.readEverything("s").map { String(decoding: $0.record.data, as: UTF8.self) } == ["one", "two", "three"])
    }

    @Test func anEncryptedStreamWithoutKeysRefusesToOpen() async throws {
        var fixture = EngineFixture()
        fixture.options.keys = keys
        let engine = try fixture.open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        _ = try await engine.writer.putRecord(stream: "s", record: record("k", "secret"))
        await engine.close()
        fixture.options.keys = nil
        #expect { _ = try fixture.open() } throws: { error in
            "\(error)".contains("is encrypted") || "\(error)".contains("stream s is encrypted")
        }
    }

    @Test func withoutAKeyFileEncryptionCannotStart() throws {
        let engine = try EngineFixture().open()
        try engine.catalog.createStream(name: "s", shardCount: 1)
        #expect(try engine.catalog.metadata(of: "s").encryptionType == "NONE")
        #expect { try engine.catalog.startEncryption(stream: "s", keyId: "edge") } throws: { ($0 as? EngineError)?.kind == .kmsNotFound }
    }
}
