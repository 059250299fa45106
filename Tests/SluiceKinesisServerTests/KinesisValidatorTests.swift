import SluiceKinesis
import SluiceStorage
import Testing
@testable import SluiceKinesisServer

/// AWS's validation from the service model: every action of the model is known, members
/// are checked in the reference's order and every failure is reported in AWS's form.
@Suite struct KinesisValidatorTests {
    func failure(_ action: String, _ body: String) -> String? {
        do {
            try KinesisValidator.validate(action: action, body: try JSONParser.parse(Array(body.utf8)))
            return nil
        } catch let error as KinesisError {
            #expect(error.type == "ValidationException")
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func everyActionOfTheReferenceIsInTheModel() {
        #expect(KinesisValidator.inputs.count == 39)
        for action in KinesisDispatcher.supportedActions where action != "SubscribeToShard" {
            #expect(KinesisValidator.inputs[action] != nil, "\(action)")
        }
    }

    @Test func validBodiesPass() {
        #expect(failure("CreateStream", #"{"StreamName":"a.b-c_1","ShardCount":2}"#) == nil)
        #expect(failure("PutRecord", #"{"StreamName":"s","PartitionKey":"k","Data":"aGk=","ExplicitHashKey":"340282366920938463463374607431768211455"}"#) == nil)
        #expect(failure("DescribeStreamConsumer", #"{"ConsumerARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1700000000"}"#) == nil)
    }

    @Test func everyFailureIsReportedInTheReferencesOrder() {
        #expect(failure("CreateStream", #"{"StreamName":"bad name!","ShardCount":0}"#) ==
            "2 validation errors detected: Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1; Value 'bad name!' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
        #expect(failure("CreateStream", "{}") == "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null")
        #expect(failure("GetShardIterator", #"{"StreamName":"s","ShardId":"shardId-0","ShardIteratorType":"NOW"}"#)?.contains("Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]") == true)
        #expect(failure("ListShards", #"{"ShardFilter":{"Type":"SOMEWHERE"}}"#)?.contains("at 'shardFilter.type'") == true)
        #expect(failure("PutRecords", #"{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"aGk="},{"PartitionKey":"","Data":"aGk="}]}"#) ==
            "1 validation error detected: Value '' at 'records.2.member.partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1")
    }

    @Test func patternsMatchTheWholeValue() {
        #expect(failure("PutRecord", #"{"StreamName":"s","PartitionKey":"k","Data":"","ExplicitHashKey":"01"}"#)?.contains("explicitHashKey") == true)
        #expect(failure("PutRecord", #"{"StreamName":"s","PartitionKey":"k","Data":"","ExplicitHashKey":"1x"}"#)?.contains("explicitHashKey") == true)
        #expect(failure("DescribeStreamConsumer", #"{"ConsumerARN":"x arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1"}"#)?.contains("consumerARN") == true)
        #expect(Pattern("[a-zA-Z0-9_.-]+").matches("") == false)
        #expect(Pattern("0|([1-9]\\d{0,38})").matches("0"))
        #expect(!Pattern("0|([1-9]\\d{0,38})").matches(String(repeating: "9", count: 40)))
    }

    @Test func wrongTypesAreLeftToTheDecoder() {
        #expect(failure("CreateStream", #"{"StreamName":5,"ShardCount":"two"}"#) == nil)
    }
}
