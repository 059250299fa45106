import Foundation
import Logging
import Testing
import SluiceEngine
import SluiceStorage
import SluiceTestSupport
import SluiceKinesis
@testable import SluiceKinesisServer

/// The wire protocol without HTTP: JSON in, JSON or an AWS error shape out.
@Suite struct KinesisDispatcherTests {
    let tmp = TemporaryDirectory("sluice-api")
    let dispatcher: KinesisDispatcher

    init() throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        dispatcher = KinesisDispatcher(engine: try StreamEngine(dataDirectory: tmp.path, clock: ManualTimeSource(), logger: logger))
    }

    func call(_ action: String, _ json: String) async throws -> [String: Any] {
        let data = try await dispatcher.handle(action: action, body: Data(json.utf8))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    func error(_ action: String, _ json: String) async -> KinesisError? {
        do {
            _ = try await dispatcher.handle(action: action, body: Data(json.utf8))
            return nil
        } catch {
            return error as? KinesisError
        }
    }

    @Test func putAndGetRoundTripInWireShapes() async throws {
        _ = try await call("CreateStream", #"{"StreamName":"test","ShardCount":2}"#)
        let put = try await call("PutRecord", #"{"StreamName":"test","PartitionKey":"user1","Data":"dXNlciBzaWdudXA="}"#)
        #expect(put["ShardId"] as? String == "shardId-000000000000")
        #expect((put["SequenceNumber"] as? String)?.count == 40)
        #expect(put["EncryptionType"] as? String == "NONE")
        let iterator = try await call("GetShardIterator", #"{"StreamName":"test","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}"#)
        let get = try await call("GetRecords", "{\"ShardIterator\":\"\(iterator["ShardIterator"] as! String)\"}")
        let records = get["Records"] as! [[String: Any]]
        #expect(records.count == 1)
        #expect(records[0]["Data"] as? String == "dXNlciBzaWdudXA=")
        #expect(records[0]["PartitionKey"] as? String == "user1")
        #expect(records[0]["ApproximateArrivalTimestamp"] is Double)
        #expect(get["MillisBehindLatest"] as? Int == 0)
        #expect(get["NextShardIterator"] is String)
    }

    @Test func putRecordsReportsPerRecordFailures() async throws {
        _ = try await call("CreateStream", #"{"StreamName":"t","ShardCount":1}"#)
        let entries = (0..<1001).map { _ in #"{"PartitionKey":"k","Data":"eA=="}"# }
        _ = try await call("PutRecords", "{\"StreamName\":\"t\",\"Records\":[\(entries.prefix(500).joined(separator: ","))]}")
        _ = try await call("PutRecords", "{\"StreamName\":\"t\",\"Records\":[\(entries.prefix(499).joined(separator: ","))]}")
        let third = try await call("PutRecords", "{\"StreamName\":\"t\",\"Records\":[\(entries.prefix(3).joined(separator: ","))]}")
        #expect(third["FailedRecordCount"] as? Int == 2)
        let results = third["Records"] as! [[String: Any]]
        #expect(results[0]["SequenceNumber"] is String)
        #expect(results[1]["ErrorCode"] as? String == "ProvisionedThroughputExceededException")
        #expect((results[1]["ErrorMessage"] as? String)?.hasPrefix("Rate exceeded for shard shardId-000000000000") == true)
    }

    @Test func errorsHaveTheShapesTheSDKsExpect() async throws {
        _ = try await call("CreateStream", #"{"StreamName":"e","ShardCount":1}"#)
        let cases: [(String, String, String)] = [
            ("PutRecord", #"{"StreamName":"nope","PartitionKey":"k","Data":"eA=="}"#, "ResourceNotFoundException"),
            ("PutRecord", #"{"StreamName":"e","PartitionKey":"","Data":"eA=="}"#, "ValidationException"),
            ("PutRecord", "{\"StreamName\":\"e\",\"PartitionKey\":\"\(String(repeating: "k", count: 257))\",\"Data\":\"eA==\"}", "ValidationException"),
            ("PutRecord", #"{"StreamName":"e","Data":"eA=="}"#, "ValidationException"),
            ("PutRecord", #"{"StreamName":"e","PartitionKey":"k","Data":"not base64!"}"#, "SerializationException"),
            ("PutRecord", #"{"StreamName":"e","#, "SerializationException"),
            ("CreateStream", #"{"StreamName":"e","ShardCount":1}"#, "ResourceInUseException"),
            ("GetRecords", #"{"ShardIterator":"AAAA"}"#, "InvalidArgumentException"),
            ("GetShardIterator", #"{"StreamName":"e","ShardId":"shardId-000000000000","ShardIteratorType":"SIDEWAYS"}"#, "ValidationException"),
            ("GetShardIterator", #"{"StreamName":"e","ShardId":"shardId-000000000000","ShardIteratorType":"AT_SEQUENCE_NUMBER"}"#, "InvalidArgumentException"),
            ("DescribeStream", #"{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/missing"}"#, "ResourceNotFoundException"),
            ("Frobnicate", "{}", "UnknownOperationException"),
        ]
        for (action, body, type) in cases {
            let failure = await error(action, body)
            #expect(failure?.type == type, "\(action) \(body.prefix(60))")
            #expect(failure?.status == 400)
            #expect(failure?.message.isEmpty == false)
        }
        let notFound = await error("PutRecord", #"{"StreamName":"nope","PartitionKey":"k","Data":"eA=="}"#)
        #expect(notFound?.message == "Stream nope under account 000000000000 not found.")
        let body = try JSONSerialization.jsonObject(with: Data(notFound!.body)) as! [String: String]
        #expect(body == ["__type": "ResourceNotFoundException", "message": "Stream nope under account 000000000000 not found."])
    }

    @Test func streamARNAddressingWorksLikeTheName() async throws {
        _ = try await call("CreateStream", #"{"StreamName":"arned","ShardCount":1}"#)
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/arned"
        let put = try await call("PutRecord", "{\"StreamARN\":\"\(arn)\",\"PartitionKey\":\"k\",\"Data\":\"eA==\"}")
        #expect(put["ShardId"] as? String == "shardId-000000000000")
        let summary = try await call("DescribeStreamSummary", "{\"StreamARN\":\"\(arn)\"}")
        #expect((summary["StreamDescriptionSummary"] as? [String: Any])?["StreamARN"] as? String == arn)
        let mismatch = await error("DescribeStreamSummary", "{\"StreamName\":\"other\",\"StreamARN\":\"\(arn)\"}")
        #expect(mismatch?.type == "InvalidArgumentException")
    }

    @Test func listingsPaginate() async throws {
        for n in 0..<5 { _ = try await call("CreateStream", "{\"StreamName\":\"s\(n)\",\"ShardCount\":3}") }
        var names: [String] = []
        var token: String?
        repeat {
            let page = try await call("ListStreams", token.map { "{\"Limit\":2,\"NextToken\":\"\($0)\"}" } ?? #"{"Limit":2}"#)
            names += page["StreamNames"] as! [String]
            token = (page["HasMoreStreams"] as? Bool == true) ? page["NextToken"] as? String : nil
        } while token != nil
        #expect(names == ["s0", "s1", "s2", "s3", "s4"])
        let first = try await call("ListShards", #"{"StreamName":"s1","MaxResults":2}"#)
        #expect((first["Shards"] as! [[String: Any]]).count == 2)
        let second = try await call("ListShards", "{\"NextToken\":\"\(first["NextToken"] as! String)\"}")
        #expect((second["Shards"] as! [[String: Any]]).map { $0["ShardId"] as! String } == ["shardId-000000000002"])
        #expect(second["NextToken"] == nil)
        let described = try await call("DescribeStream", #"{"StreamName":"s1","Limit":1,"ExclusiveStartShardId":"shardId-000000000000"}"#)
        let description = described["StreamDescription"] as! [String: Any]
        #expect((description["Shards"] as! [[String: Any]]).map { $0["ShardId"] as! String } == ["shardId-000000000001"])
        #expect(description["HasMoreShards"] as? Bool == true)
        let limits = try await call("DescribeLimits", "{}")
        #expect(limits["OpenShardCount"] as? Int == 15)
        #expect(limits["ShardLimit"] as? Int == 500)
    }

    @Test func retentionAndTags() async throws {
        _ = try await call("CreateStream", #"{"StreamName":"r","ShardCount":1}"#)
        _ = try await call("IncreaseStreamRetentionPeriod", #"{"StreamName":"r","RetentionPeriodHours":168}"#)
        #expect(await error("DecreaseStreamRetentionPeriod", #"{"StreamName":"r","RetentionPeriodHours":12}"#)?.type == "InvalidArgumentException")
        _ = try await call("DecreaseStreamRetentionPeriod", #"{"StreamName":"r","RetentionPeriodHours":48}"#)
        let summary = try await call("DescribeStreamSummary", #"{"StreamName":"r"}"#)
        #expect((summary["StreamDescriptionSummary"] as? [String: Any])?["RetentionPeriodHours"] as? Int == 48)
        _ = try await call("AddTagsToStream", #"{"StreamName":"r","Tags":{"b":"2","a":"1"}}"#)
        _ = try await call("RemoveTagsFromStream", #"{"StreamName":"r","TagKeys":["b"]}"#)
        let tags = try await call("ListTagsForStream", #"{"StreamName":"r"}"#)
        #expect((tags["Tags"] as! [[String: String]]) == [["Key": "a", "Value": "1"]])
    }
}
