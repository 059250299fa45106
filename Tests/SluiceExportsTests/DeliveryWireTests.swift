import Foundation
import Logging
import SluiceKinesis
import SluiceStorage
import SluiceTestSupport
import Testing
@testable import SluiceExports

/// What delivery exports put on the wire and read back from it: S3 addressing, the
/// Firehose HTTP request bounds, and seeded fuzzing of every reader of untrusted bytes
/// (a transform's answer, record data under partition queries, S3's XML).
@Suite struct DeliveryWireTests {
    var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    func s3(pathStyle: Bool, endpoint: String = "http://127.0.0.1:9000") throws -> S3Store {
        let credentials = try AWSCredentialsProvider(file: nil, profile: nil, environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
        return S3Store(settings: .init(bucket: "lake", endpoint: endpoint, region: "eu-west-1", pathStyle: pathStyle), credentials: credentials, namePrefix: "s-e-", logger: logger)
    }

    @Test func s3AddressesPathAndVirtualHostStyleWithTheKeyEncodedAsItIsSigned() async throws {
        let path = try s3(pathStyle: true)
        let url = path.url(key: "site=a b/x+y.gz", query: [("partNumber", "2"), ("uploadId", "id/+=")])
        #expect(url.url == "http://127.0.0.1:9000/lake/site%3Da%20b/x%2By.gz?partNumber=2&uploadId=id%2F%2B%3D")
        #expect(url.path == "/lake/site%3Da%20b/x%2By.gz")
        #expect(path.url(key: nil, query: [("uploads", nil)]).url == "http://127.0.0.1:9000/lake?uploads")
        let virtual = try s3(pathStyle: false, endpoint: "https://s3.eu-west-1.amazonaws.com")
        #expect(virtual.url(key: "k.gz", query: []).url == "https://lake.s3.eu-west-1.amazonaws.com/k.gz")
        #expect(virtual.url(key: nil, query: [("uploads", nil)]).url == "https://lake.s3.eu-west-1.amazonaws.com/?uploads")
        await path.shutdown()
        await virtual.shutdown()
    }

    func records(_ count: Int, size: Int) -> [BufferedRecord] {
        (0..<count).map { BufferedRecord(record: StoredRecord(offset: UInt64($0), timestampMillis: 0, partitionKey: "k", data: [UInt8](repeating: 0x61, count: size)), shardIndex: 0) }
    }

    @Test func httpRequestsStayWithinTenThousandRecordsAndTheBodyBound() async {
        var settings = HTTPEndpointTarget.Settings(url: "http://127.0.0.1:1/")
        let target = HTTPEndpointTarget(settings: settings, logger: logger)
        #expect(target.requests(records(25_000, size: 1)).map(\.count) == [10_000, 10_000, 5_000])
        settings.maxBodyBytes = 64 << 10
        let small = HTTPEndpointTarget(settings: settings, logger: logger)
        let cut = small.requests(records(100, size: 3000))
        #expect(cut.reduce(0) { $0 + $1.count } == 100)
        for request in cut {
            #expect(HTTPEndpointTarget.body(requestId: "r", timestampMillis: 0, records: request).count <= 64 << 10)
        }
        let body = HTTPEndpointTarget.body(requestId: "r-1", timestampMillis: 7, records: records(2, size: 3))
        let parsed = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        #expect(parsed?["requestId"] as? String == "r-1" && parsed?["timestamp"] as? Int == 7)
        #expect((parsed?["records"] as? [[String: String]])?.map { $0["data"] } == ["YWFh", "YWFh"])
        await target.shutdown()
        await small.shutdown()
    }

    @Test func fuzzedTransformAnswersAreReadOrRefusedNeverTrapped() throws {
        let transformer = RecordTransformer(command: ["/bin/true"], deliveryStreamArn: "a", sourceStreamArn: "a", region: "r")
        let input = records(5, size: 4)
        let valid = Array(#"{"records":[{"recordId":"\#(input[0].sequenceNumber)","result":"Ok","data":"eA=="},{"recordId":"\#(input[1].sequenceNumber)","result":"Dropped"},{"recordId":"\#(input[2].sequenceNumber)","result":"ProcessingFailed"},{"recordId":"\#(input[3].sequenceNumber)","result":"Ok","data":"!!"},{"recordId":"\#(input[4].sequenceNumber)","result":"Ok","data":""}]}"#.utf8)
        let outcome = try transformer.answer(Data(valid), for: input, attempts: 1)
        #expect(outcome.transformed.count == 2 && outcome.dropped == 1 && outcome.failed.map(\.errorCode) == ["Transform.ProcessingFailed", "Transform.InvalidData"])
        var random = SeededRandom(seed: 19)
        for _ in 0..<3000 {
            let mutated = ByteMutator.mutate(valid, &random)
            do {
                let outcome = try transformer.answer(Data(mutated), for: input, attempts: 1)
                #expect(outcome.transformed.count + outcome.dropped + outcome.failed.count == input.count, "every record accounted for once")
            } catch is RecordTransformer.RunFailure {}
        }
    }

    @Test func fuzzedRecordDataUnderPartitionQueriesGivesAPartitionOrAFailure() throws {
        let partitioning = try Partitioning(queries: ["site": "json.device.site", "n": ".n"], byRecordKey: true)
        let valid = Array(#"{"device":{"site":"north"},"n":12,"x":[1,{"y":null}]}"#.utf8)
        let record = StoredRecord(offset: 0, timestampMillis: 0, partitionKey: "pk", data: valid)
        #expect(try partitioning.partition(of: record).values == ["site": "north", "n": "12", Partition.recordKey: "pk"])
        var deep = record
        deep.data = Array(("{\"device\":" + String(repeating: "[", count: 100_000)).utf8)
        #expect(throws: Partitioning.Failure.self, "deep nesting is refused, not a stack overflow") { try partitioning.partition(of: deep) }
        var random = SeededRandom(seed: 23)
        for _ in 0..<3000 {
            var mutated = record
            mutated.data = ByteMutator.mutate(valid, &random)
            do {
                let partition = try partitioning.partition(of: mutated)
                #expect(partition.values.count == 3)
            } catch {
                #expect(error.code == "DynamicPartitioning.MetadataExtractionFailed")
            }
        }
    }

    @Test func fuzzedS3AnswersNeverTrapTheXMLReader() {
        let valid = Array("<ListMultipartUploadsResult><Upload><Key>a/s-e-1.gz</Key><UploadId>u&amp;1</UploadId></Upload></ListMultipartUploadsResult>".utf8)
        #expect(XMLText.values("UploadId", in: String(decoding: valid, as: UTF8.self)) == ["u&1"])
        var random = SeededRandom(seed: 29)
        for _ in 0..<3000 {
            let text = String(decoding: ByteMutator.mutate(valid, &random), as: UTF8.self)
            for upload in XMLText.values("Upload", in: text) { _ = XMLText.values("Key", in: upload) }
        }
    }
}
