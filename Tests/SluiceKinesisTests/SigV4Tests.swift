import Foundation
import Testing
@testable import SluiceKinesis

@Suite struct SigV4Tests {
    let credentials = SigV4.Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    let date = SigV4.parseTimestamp("20150830T123600Z")!
    var request: SigV4.Request {
        SigV4.Request(method: "POST", headers: [
            ("Content-Type", "application/x-amz-json-1.1"), ("Host", "kinesis.us-east-1.amazonaws.com"),
            ("X-Amz-Target", "Kinesis_20131202.ListShards"),
        ], body: Array(#"{"StreamName":"s"}"#.utf8))
    }

    /// The same request signed by botocore (boto3's signer) at the same instant.
    @Test func signsExactlyAsBotocore() {
        let headers = SigV4.sign(request, credentials: credentials, region: "us-east-1", date: date)
        #expect(headers.first { $0.name == "X-Amz-Date" }?.value == "20150830T123600Z")
        #expect(headers.first { $0.name == "Authorization" }?.value ==
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=4bccd95ac653de006c111becda7b1114c60ca75d594a610a16fd0e7fbc8a1e54")
    }

    /// AWS's own S3 example ("Signature Calculations for the Authorization Header",
    /// GET Object): service s3, a signed payload hash, a path signed as it is sent.
    @Test func signsAWSsS3GetObjectExample() {
        let s3Credentials = SigV4.Credentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        let request = SigV4.Request(method: "GET", path: "/test.txt", headers: [
            ("host", "examplebucket.s3.amazonaws.com"), ("range", "bytes=0-9"),
            ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ], body: [])
        let headers = SigV4.sign(request, credentials: s3Credentials, region: "us-east-1", service: "s3", date: SigV4.parseTimestamp("20130524T000000Z")!)
        #expect(headers.first { $0.name == "Authorization" }?.value ==
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func verifiesWhatItSignsAndNothingElse() throws {
        let headers = SigV4.sign(request, credentials: credentials, region: "us-east-1", date: date)
        let authorization = try #require(SigV4.parseAuthorization(headers.last!.value))
        var signed = request
        signed.headers.append(("X-Amz-Date", "20150830T123600Z"))
        #expect(SigV4.verify(signed, authorization: authorization, amzDate: "20150830T123600Z", secret: credentials.secretAccessKey))
        #expect(!SigV4.verify(signed, authorization: authorization, amzDate: "20150830T123600Z", secret: "wrong"))
        var tampered = signed
        tampered.body = Array(#"{"StreamName":"t"}"#.utf8)
        #expect(!SigV4.verify(tampered, authorization: authorization, amzDate: "20150830T123600Z", secret: credentials.secretAccessKey))
    }

    @Test func parsesAuthorizationAndTimestamps() {
        let parsed = SigV4.parseAuthorization("AWS4-HMAC-SHA256 Credential=AK/20260101/eu-west-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab12")
        #expect(parsed == SigV4.Authorization(accessKeyId: "AK", date: "20260101", region: "eu-west-1", service: "kinesis", signedHeaders: ["host", "x-amz-date"], signature: "ab12"))
        #expect(SigV4.parseAuthorization("Basic abc") == nil)
        #expect(SigV4.parseAuthorization("AWS4-HMAC-SHA256 Credential=AK/x, Signature=1") == nil)
        #expect(SigV4.timestamp(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
        #expect(SigV4.parseTimestamp("2015-08-30") == nil)
    }
}
