import FoundationEssentials

/// Firehose's JSON 1.1 shapes that sluiced answers (`X-Amz-Target: Firehose_20150804.*`),
/// member names as the API reference spells them. Blobs are base64 strings.
enum FirehoseShapes {
    struct Record: Codable {
        var Data: String
    }

    struct PutRecordInput: Codable {
        var DeliveryStreamName: String?
        var Record: Record?
    }

    struct PutRecordOutput: Codable {
        var RecordId: String
        var Encrypted: Bool
    }

    struct PutRecordBatchInput: Codable {
        var DeliveryStreamName: String?
        var Records: [Record]?
    }

    struct PutRecordBatchResponseEntry: Codable {
        var RecordId: String?
        var ErrorCode: String?
        var ErrorMessage: String?
    }

    struct PutRecordBatchOutput: Codable {
        var FailedPutCount: Int
        var Encrypted: Bool
        var RequestResponses: [PutRecordBatchResponseEntry]
    }

    struct NameInput: Codable {
        var DeliveryStreamName: String?
        var DeliveryStreamType: String?
        var KinesisStreamSourceConfiguration: KinesisSource?
        var AllowForceDelete: Bool?
    }

    struct KinesisSource: Codable {
        var KinesisStreamARN: String?
        var RoleARN: String?
    }

    struct CreateOutput: Codable {
        var DeliveryStreamARN: String
    }

    struct ListInput: Codable {
        var Limit: Int?
        var DeliveryStreamType: String?
        var ExclusiveStartDeliveryStreamName: String?
    }

    struct ListOutput: Codable {
        var DeliveryStreamNames: [String]
        var HasMoreDeliveryStreams: Bool
    }

    struct Source: Codable {
        var KinesisStreamSourceDescription: KinesisSourceDescription?
    }

    struct KinesisSourceDescription: Codable {
        var KinesisStreamARN: String
        var DeliveryStartTimestamp: Double
    }

    struct Destination: Codable {
        var DestinationId: String
        /// What the export delivers to, in sluiced's words (`files in /mnt/usb`,
        /// `s3://bucket at …`, `http endpoint …`): the destination is set in sluice.toml.
        var SluiceDestination: String
    }

    struct Description: Codable {
        var DeliveryStreamName: String
        var DeliveryStreamARN: String
        var DeliveryStreamStatus: String
        var DeliveryStreamType: String
        var VersionId: String
        var CreateTimestamp: Double
        var Source: Source?
        var Destinations: [Destination]
        var HasMoreDestinations: Bool
    }

    struct DescribeOutput: Codable {
        var DeliveryStreamDescription: Description
    }

    struct Empty: Codable {}
}
