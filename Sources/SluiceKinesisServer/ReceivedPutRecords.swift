import FoundationEssentials
import SluiceEngine
import SluiceStorage

/// PutRecords as the server decodes it: each entry straight into the engine's record type,
/// its base64 `Data` decoded into the record's bytes. The wire shape (`PutRecordsInput`,
/// with `Data` members, which the client encodes) would hold every record twice until the
/// request was converted. Members, their JSON names and decoding errors are the same.
struct ReceivedPutRecords: Decodable {
    var StreamName: String?
    var StreamARN: String?
    var Records: [ReceivedRecord]
}

/// One PutRecords entry, or PutRecord's record and stream.
struct ReceivedRecord: Decodable {
    var StreamName: String?
    var StreamARN: String?
    var record: SluiceEngine.PutRecordInput

    private enum CodingKeys: String, CodingKey {
        case StreamName, StreamARN, Data, PartitionKey, ExplicitHashKey
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        StreamName = try container.decodeIfPresent(String.self, forKey: .StreamName)
        StreamARN = try container.decodeIfPresent(String.self, forKey: .StreamARN)
        let text = try container.decode(String.self, forKey: .Data)
        // One record's Data at a time, released at once: only the bytes stay.
        guard let data = FoundationEssentials.Data(base64Encoded: text) else {
            throw DecodingError.dataCorruptedError(forKey: .Data, in: container, debugDescription: "Encountered Data is not valid Base64.")
        }
        record = SluiceEngine.PutRecordInput(
            partitionKey: try container.decode(String.self, forKey: .PartitionKey), data: [UInt8](data),
            explicitHashKey: try container.decodeIfPresent(String.self, forKey: .ExplicitHashKey)
        )
    }
}
