import Testing
@testable import SluiceKinesis

/// Resource policies: IAM's grammar as far as the box honours it, refused where it would
/// be weaker than it reads, and an explicit Deny over any Allow.
@Suite struct ResourcePolicyTests {
    let stream = "arn:aws:kinesis:eu-west-1:000000000000:stream/logs"

    func policy(_ statements: String) throws -> ResourcePolicy {
        try ResourcePolicy(json: #"{"Version":"2012-10-17","Statement":"# + statements + "}", accountId: "000000000000")
    }

    @Test func allowsWhatAStatementNamesForItsPrincipals() throws {
        let p = try policy(#"[{"Effect":"Allow","Principal":{"AWS":["reader"]},"Action":["kinesis:get*","kinesis:ListShards"],"Resource":"arn:aws:kinesis:*:000000000000:stream/logs"}]"#)
        #expect(p.decide(action: "GetRecords", accessKeyId: "reader", resources: [stream]) == .allow)
        #expect(p.decide(action: "ListShards", accessKeyId: "reader", resources: [stream]) == .allow)
        #expect(p.decide(action: "PutRecord", accessKeyId: "reader", resources: [stream]) == .none)
        #expect(p.decide(action: "GetRecords", accessKeyId: "writer", resources: [stream]) == .none)
        #expect(p.decide(action: "GetRecords", accessKeyId: "reader", resources: [stream + "2"]) == .none)
    }

    @Test func anExplicitDenyWins() throws {
        let p = try policy(#"[{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":"writer"},"Action":"kinesis:PutRecord","Resource":"*"}]"#)
        #expect(p.decide(action: "PutRecord", accessKeyId: "writer", resources: [stream]) == .deny)
        #expect(p.decide(action: "PutRecords", accessKeyId: "writer", resources: [stream]) == .allow)
        #expect(p.decide(action: "PutRecord", accessKeyId: "other", resources: [stream]) == .allow)
    }

    @Test func theAccountRootMeansEveryKey() throws {
        let p = try policy(#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"kinesis:DescribeStreamSummary","Resource":"*"}"#)
        #expect(p.decide(action: "DescribeStreamSummary", accessKeyId: "anyone", resources: [stream]) == .allow)
    }

    @Test func consumersMatchByNameWhateverTheCreationTime() throws {
        let consumer = stream + "/consumer/c"
        let exact = try policy(#"{"Effect":"Allow","Principal":"*","Action":"kinesis:SubscribeToShard","Resource":"\#(consumer):1700000000"}"#)
        let any = try policy(#"{"Effect":"Allow","Principal":"*","Action":"kinesis:SubscribeToShard","Resource":"\#(consumer):*"}"#)
        #expect(exact.decide(action: "SubscribeToShard", accessKeyId: "k", resources: [consumer]) == .allow)
        #expect(any.decide(action: "SubscribeToShard", accessKeyId: "k", resources: [consumer]) == .allow)
        #expect(any.decide(action: "SubscribeToShard", accessKeyId: "k", resources: [stream + "/consumer/d"]) == .none)
    }

    @Test func documentsItCannotHonourAreRefusedWithTheReason() {
        let cases: [(String, String)] = [
            ("nope", "not a JSON object"),
            (#"{"Statement":[]}"#, "Statement is empty"),
            (#"{"Version":"2099-01-01","Statement":[]}"#, "Version"),
            (#"{"Statement":[{"Effect":"Perhaps","Principal":"*","Action":"kinesis:*","Resource":"*"}]}"#, "Effect"),
            (#"{"Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}]}"#, "Principal"),
            (#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#, "kinesis: actions"),
            (#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kinesis:*"}]}"#, "Resource"),
            (#"{"Statement":[{"Effect":"Allow","Principal":"*","NotAction":"kinesis:Put*","Resource":"*"}]}"#, "NotAction"),
            (#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*","Condition":{}}]}"#, "Condition"),
            (String(repeating: " ", count: ResourcePolicy.maxBytes + 1), "bytes"),
        ]
        for (document, reason) in cases {
            #expect { try ResourcePolicy(json: document, accountId: "000000000000") } throws: { error in
                let error = error as? KinesisError
                return error?.type == "InvalidArgumentException" && error?.message.contains(reason) == true
            }
        }
    }

    @Test func wildcardsAreIAMsNotTheShells() {
        #expect(ResourcePolicy.matches("a*c", "abbbc", caseless: false))
        #expect(ResourcePolicy.matches("a?c", "abc", caseless: false))
        #expect(!ResourcePolicy.matches("a?c", "abbc", caseless: false))
        #expect(ResourcePolicy.matches("[ab]", "[ab]", caseless: false))
        #expect(!ResourcePolicy.matches("[ab]", "a", caseless: false))
        #expect(ResourcePolicy.matches("KINESIS:get*", "kinesis:GetRecords", caseless: true))
        #expect(!ResourcePolicy.matches("Stream", "stream", caseless: false))
    }
}
