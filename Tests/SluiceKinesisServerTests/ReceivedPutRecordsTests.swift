import Foundation
import NIOCore
import SluiceKinesis
import SluiceStorage
import Testing
@testable import SluiceKinesisServer

/// The server decodes PutRecords straight into engine records; the client's wire shape
/// (`PutRecordsInput`, `Data` members) is the reference it must agree with: same records,
/// and for bad bodies the same error type and message.
@Suite struct ReceivedPutRecordsTests {
    static let bodies = [
        #"{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k"},{"Data":"","PartitionKey":"ключ","ExplicitHashKey":"7"}]}"#,
        #"{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","Records":[{"Data":"AAECAwQF/w==","PartitionKey":"p"}]}"#,
        #"{"StreamName":"s","Records":[{"Data":"not base64!","PartitionKey":"k"}]}"#,
        #"{"StreamName":"s","Records":[{"Data":"aGk","PartitionKey":"k"}]}"#,
        #"{"StreamName":"s","Records":[{"PartitionKey":"k"}]}"#,
        #"{"StreamName":"s","Records":[{"Data":"aGk="}]}"#,
        #"{"StreamName":"s","Records":[{"Data":5,"PartitionKey":"k"}]}"#,
        #"{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k","ExplicitHashKey":1}]}"#,
        #"{"StreamName":"s"}"#,
        #"{"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k"}"#,
        "",
    ]

    func outcome<T: Decodable>(_ type: T.Type, _ body: String) -> Result<T, KinesisError> {
        do { return .success(try KinesisDispatcher.decode(ByteBuffer(string: body)) as T) } catch {
            return .failure(error as! KinesisError)
        }
    }

    @Test("every body decodes to the same records, or fails with the same error, as the client's wire shape")
    func agreesWithTheWireShape() {
        for body in Self.bodies {
            switch (outcome(ReceivedPutRecords.self, body), outcome(PutRecordsInput.self, body)) {
            case (.success(let received), .success(let wire)):
                #expect(received.StreamName == wire.StreamName && received.StreamARN == wire.StreamARN, "\(body)")
                #expect(received.Records.map(\.record.data) == wire.Records.map { [UInt8]($0.Data) }, "\(body)")
                #expect(received.Records.map(\.record.partitionKey) == wire.Records.map(\.PartitionKey), "\(body)")
                #expect(received.Records.map(\.record.explicitHashKey) == wire.Records.map(\.ExplicitHashKey), "\(body)")
            case (.failure(let received), .failure(let wire)):
                #expect(received.type == wire.type, "\(body)")
                // The coding path names the member the same way; the wording below it may
                // name Data's own decoding step.
                #expect(received.message.prefix(40) == wire.message.prefix(40), "\(body): \(received.message) vs \(wire.message)")
            case (let received, let wire):
                Issue.record("\(body): server \(received), wire shape \(wire)")
            }
        }
    }

    @Test("a body decoded in place leaves nothing pointing into the buffer")
    func decodedRecordsOwnTheirBytes() throws {
        var buffer = ByteBuffer(string: Self.bodies[0])
        let input: ReceivedPutRecords = try KinesisDispatcher.decode(buffer)
        buffer.setBytes([UInt8](repeating: 0x20, count: buffer.readableBytes), at: buffer.readerIndex)
        #expect(input.Records.map(\.record.data) == [Array("hi".utf8), []])
        #expect(input.Records.map(\.record.partitionKey) == ["k", "ключ"])
    }
}
