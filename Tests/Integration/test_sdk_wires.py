"""Every Kinesis SDK's wire: the same client flows over JSON/HTTP 1.1, CBOR/HTTP 1.1,
JSON/h2c (HTTP/2 with prior knowledge) and CBOR/h2 over TLS (ALPN), as the Java SDKs (and
the KCL) and the JavaScript SDK v3 speak them; curl with --http2-prior-knowledge; ARNs in
the signing region from boto3 clients in three regions; resource policies allowing and
denying with [auth]; AWS's validation errors, each in AWS's form."""
import base64
import binascii
import json
import struct
import ssl
import subprocess
import time

import boto3
import cbor2
import httpx
import pytest
from botocore.config import Config

from conftest import Daemon

TARGET = "Kinesis_20131202."
JSON_TYPE = "application/x-amz-json-1.1"
CBOR_TYPE = "application/x-amz-cbor-1.1"
BLOBS = {"Data"}
TIMESTAMPS = {"Timestamp", "ApproximateArrivalTimestamp", "StreamCreationTimestamp", "ConsumerCreationTimestamp"}


class WireError(Exception):
    def __init__(self, status, type_, message, header_type):
        super().__init__(f"{status} {type_}: {message}")
        self.status, self.type, self.message, self.header_type = status, type_, message, header_type


def walk(value, leaf, member=None):
    """`value` with every leaf replaced by `leaf(leaf value, the member it belongs to)`."""
    if isinstance(value, dict):
        return {k: walk(v, leaf, k) for k, v in value.items()}
    if isinstance(value, list):
        return [walk(v, leaf, member) for v in value]
    return leaf(value, member)


def to_json(value):
    """A request in neutral form (bytes for blobs, seconds for timestamps) as JSON."""
    return walk(value, lambda v, _: base64.b64encode(v).decode() if isinstance(v, bytes) else v)


def to_cbor(value):
    """... as the Java SDK writes CBOR: byte strings, timestamps as tag 1 milliseconds."""
    return walk(value, lambda v, member: cbor2.CBORTag(1, int(round(v * 1000)))
                if member in TIMESTAMPS and isinstance(v, (int, float)) else v)


def from_json(value):
    return walk(value, lambda v, member: base64.b64decode(v) if member in BLOBS and isinstance(v, str) else v)


class Millis(float):
    """A tag-1 timestamp read back, in seconds; remembers it came tagged."""


def cbor_loads(data):
    # Tag 1 holds milliseconds on this wire (the Java SDK's convention), not RFC seconds.
    return cbor2.loads(data, semantic_decoders={1: lambda millis, _immutable: Millis(millis / 1000)})


class Wire:
    """One SDK wire: a body format over an HTTP version."""

    def __init__(self, name, endpoint, fmt, http2, verify=True):
        self.name, self.endpoint, self.fmt, self.http2 = name, endpoint, fmt, http2
        self.client = httpx.Client(http1=not http2, http2=http2, verify=verify, timeout=30)

    def encode(self, body):
        if self.fmt == "cbor":
            return cbor2.dumps(to_cbor(body)), CBOR_TYPE
        return json.dumps(to_json(body)).encode(), JSON_TYPE

    def decode(self, response):
        expected = CBOR_TYPE if self.fmt == "cbor" else JSON_TYPE
        assert response.headers["content-type"] == expected
        if self.fmt == "cbor":
            return cbor_loads(response.content)
        return from_json(json.loads(response.content))

    def check_version(self, response):
        assert response.http_version == ("HTTP/2" if self.http2 else "HTTP/1.1"), self.name

    def call(self, action, body=None):
        content, content_type = self.encode(body or {})
        response = self.client.post(self.endpoint + "/", content=content,
                                    headers={"X-Amz-Target": TARGET + action, "Content-Type": content_type})
        self.check_version(response)
        decoded = self.decode(response)
        if response.status_code >= 400:
            raise WireError(response.status_code, decoded.get("__type"), decoded.get("message"),
                            response.headers.get("x-amzn-errortype"))
        return decoded

    def fails(self, action, body):
        with pytest.raises(WireError) as caught:
            self.call(action, body)
        assert caught.value.type == caught.value.header_type
        return caught.value

    def subscribe(self, body, want):
        """SubscribeToShard: reads event-stream messages until `want` records arrived."""
        content, content_type = self.encode(body)
        records, events = [], []
        with self.client.stream("POST", self.endpoint + "/", content=content,
                                headers={"X-Amz-Target": TARGET + "SubscribeToShard", "Content-Type": content_type}) as response:
            self.check_version(response)
            assert response.status_code == 200, response.read()
            buffer = b""
            for chunk in response.iter_bytes():
                buffer += chunk
                while len(buffer) >= 12:
                    total, headers_length = struct.unpack(">II", buffer[:8])
                    if len(buffer) < total:
                        break
                    message, buffer = buffer[:total], buffer[total:]
                    assert binascii.crc32(message[:-4]) == struct.unpack(">I", message[-4:])[0]
                    headers = parse_headers(message[12:12 + headers_length])
                    payload = message[12 + headers_length:-4]
                    assert headers[":message-type"] == "event", (headers, payload)
                    expected = CBOR_TYPE if self.fmt == "cbor" else "application/json"
                    assert headers[":content-type"] == expected
                    event = cbor_loads(payload) if self.fmt == "cbor" else from_json(json.loads(payload))
                    events.append((headers[":event-type"], event))
                    records += event.get("Records", [])
                if len(records) >= want:
                    break
        return events, records


def parse_headers(data):
    headers, at = {}, 0
    while at < len(data):
        name_length = data[at]
        name = data[at + 1:at + 1 + name_length].decode()
        at += 1 + name_length
        assert data[at] == 7  # string
        value_length = struct.unpack(">H", data[at + 1:at + 3])[0]
        headers[name] = data[at + 3:at + 3 + value_length].decode()
        at += 3 + value_length
    return headers


def make_cert(directory):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "api.key", "-out", "api.pem",
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   cwd=directory, check=True, capture_output=True)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    plain = Daemon(tmp_path_factory.mktemp("plain")).start()
    tls_dir = tmp_path_factory.mktemp("tls")
    make_cert(tls_dir)
    tls = Daemon(tls_dir, scheme="https")
    tls.config.write_text(tls.config.read_text().replace(
        "[api]\n", f'[api]\ntls_cert_file = "{tls_dir}/api.pem"\ntls_key_file = "{tls_dir}/api.key"\n'))
    tls.start()
    yield plain, tls, str(tls_dir / "api.pem")
    plain.stop()
    tls.stop()


WIRES = ["json-http1.1", "cbor-http1.1", "json-h2c", "cbor-h2-tls"]


@pytest.fixture(params=WIRES)
def wire(request, servers):
    plain, tls, cert = servers
    name = request.param
    if name == "cbor-h2-tls":
        return Wire(name, tls.endpoint, "cbor", http2=True, verify=ssl.create_default_context(cafile=cert))
    return Wire(name, plain.endpoint, name.split("-")[0], http2=name.endswith("h2c"))


def test_the_same_flows_over_every_wire(wire):
    stream = "flows-" + wire.name.replace(".", "")
    wire.call("CreateStream", {"StreamName": stream, "ShardCount": 2})
    summary = wire.call("DescribeStreamSummary", {"StreamName": stream})["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "ACTIVE" and summary["OpenShardCount"] == 2 and summary["MaxRecordSizeInKiB"] == 1024
    assert abs(summary["StreamCreationTimestamp"] - time.time()) < 60
    if wire.fmt == "cbor":
        assert isinstance(summary["StreamCreationTimestamp"], Millis)

    binary = bytes(range(256))
    first = wire.call("PutRecord", {"StreamName": stream, "PartitionKey": "k", "Data": binary, "ExplicitHashKey": "0"})
    assert first["ShardId"] == "shardId-000000000000"
    put = wire.call("PutRecords", {"StreamName": stream, "Records": [
        {"PartitionKey": f"k{n}", "Data": f"record {n}".encode(), "ExplicitHashKey": "0"} for n in range(10)]})
    assert put["FailedRecordCount"] == 0 and len(put["Records"]) == 10

    shards = wire.call("ListShards", {"StreamName": stream})["Shards"]
    assert [s["ShardId"] for s in shards] == ["shardId-000000000000", "shardId-000000000001"]

    def read(iterator_type, **extra):
        iterator = wire.call("GetShardIterator", {"StreamName": stream, "ShardId": "shardId-000000000000",
                                                  "ShardIteratorType": iterator_type, **extra})["ShardIterator"]
        return wire.call("GetRecords", {"ShardIterator": iterator, "Limit": 100})

    everything = read("TRIM_HORIZON")
    records = everything["Records"]
    assert [r["Data"] for r in records] == [binary] + [f"record {n}".encode() for n in range(10)]
    arrival = records[0]["ApproximateArrivalTimestamp"]
    assert abs(arrival - time.time()) < 60
    if wire.fmt == "cbor":
        assert isinstance(arrival, Millis)
    assert read("LATEST")["Records"] == []
    assert read("AT_SEQUENCE_NUMBER", StartingSequenceNumber=first["SequenceNumber"])["Records"][0]["Data"] == binary
    assert read("AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=first["SequenceNumber"])["Records"][0]["Data"] == b"record 0"
    assert len(read("AT_TIMESTAMP", Timestamp=arrival - 5)["Records"]) == 11

    parent = wire.call("ListShards", {"StreamName": stream})["Shards"][0]
    middle = (int(parent["HashKeyRange"]["StartingHashKey"]) + int(parent["HashKeyRange"]["EndingHashKey"])) // 2
    wire.call("SplitShard", {"StreamName": stream, "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": str(middle)})
    wire.call("MergeShards", {"StreamName": stream, "ShardToMerge": "shardId-000000000002",
                              "AdjacentShardToMerge": "shardId-000000000003"})
    open_shards = wire.call("ListShards", {"StreamName": stream, "ShardFilter": {"Type": "AT_LATEST"}})["Shards"]
    assert sorted(s["ShardId"] for s in open_shards) == ["shardId-000000000001", "shardId-000000000004"]

    arn = summary["StreamARN"]
    consumer = wire.call("RegisterStreamConsumer", {"StreamARN": arn, "ConsumerName": "c"})["Consumer"]
    assert consumer["ConsumerARN"].startswith(arn + "/consumer/c:")
    wire.call("PutRecord", {"StreamName": stream, "PartitionKey": "pushed", "Data": b"\x00pushed\xff", "ExplicitHashKey": "0"})
    events, pushed = wire.subscribe({"ConsumerARN": consumer["ConsumerARN"], "ShardId": "shardId-000000000004",
                                     "StartingPosition": {"Type": "TRIM_HORIZON"}}, want=1)
    assert events[0][0] == "initial-response"
    assert [r["Data"] for r in pushed] == [b"\x00pushed\xff"]
    if wire.fmt == "cbor":
        assert isinstance(pushed[0]["ApproximateArrivalTimestamp"], Millis)

    missing = wire.fails("DescribeStream", {"StreamName": stream + "-missing"})
    assert missing.status == 400 and missing.type == "ResourceNotFoundException"
    invalid = wire.fails("GetRecords", {"ShardIterator": "x", "Limit": 0})
    assert invalid.type == "ValidationException"
    assert invalid.message.startswith("1 validation error detected: Value '0' at 'limit' failed to satisfy constraint")
    wire.call("DeregisterStreamConsumer", {"ConsumerARN": consumer["ConsumerARN"]})
    wire.call("DeleteStream", {"StreamName": stream})


def test_cbor_bodies_that_are_not_cbor_are_refused_plainly(servers):
    plain, _, _ = servers
    response = httpx.post(plain.endpoint + "/", content=b"\xff\x00",
                          headers={"X-Amz-Target": TARGET + "ListStreams", "Content-Type": CBOR_TYPE})
    assert response.status_code == 400
    body = cbor_loads(response.content)
    assert body["__type"] == "SerializationException" and "not valid CBOR" in body["message"]


def test_curl_with_http2_prior_knowledge(servers):
    plain, _, _ = servers
    result = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-i", plain.endpoint + "/",
                             "-H", f"X-Amz-Target: {TARGET}ListStreams", "-H", f"Content-Type: {JSON_TYPE}", "-d", "{}"],
                            capture_output=True, text=True, check=True, timeout=30)
    head, _, body = result.stdout.partition("\n\n")  # text mode: \r\n read as \n
    assert head.startswith("HTTP/2 200"), result.stdout
    assert "StreamNames" in json.loads(body)
    # HTTP/1.1 still works on the same port.
    old = subprocess.run(["curl", "-sS", "--http1.1", "-i", plain.endpoint + "/health"], capture_output=True, text=True, check=True)
    assert old.stdout.startswith("HTTP/1.1 200")


def test_arns_name_the_region_each_client_signs_for(servers):
    plain, _, _ = servers
    clients = {region: boto3.client("kinesis", endpoint_url=plain.endpoint, region_name=region, aws_access_key_id="test",
                                    aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
               for region in ["us-east-1", "eu-west-1", "ap-southeast-2"]}
    clients["us-east-1"].create_stream(StreamName="regional", ShardCount=1)
    for region, client in clients.items():
        arn = client.describe_stream_summary(StreamName="regional")["StreamDescriptionSummary"]["StreamARN"]
        assert arn == f"arn:aws:kinesis:{region}:000000000000:stream/regional"
        listed = [s["StreamARN"] for s in client.list_streams()["StreamSummaries"] if s["StreamName"] == "regional"]
        assert listed == [arn]
        # One namespace per box: an ARN from any region names the same stream.
        consumer = client.register_stream_consumer(StreamARN=arn, ConsumerName=f"c-{region}")["Consumer"]
        assert consumer["ConsumerARN"].startswith(f"arn:aws:kinesis:{region}:000000000000:stream/regional/consumer/c-{region}:")
        other = clients["eu-west-1"].describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])["ConsumerDescription"]
        assert other["ConsumerARN"].startswith("arn:aws:kinesis:eu-west-1:")
    unsigned = httpx.post(plain.endpoint + "/", content=b'{"StreamName":"regional"}',
                          headers={"X-Amz-Target": TARGET + "DescribeStreamSummary", "Content-Type": JSON_TYPE})
    assert ":us-east-1:" in unsigned.json()["StreamDescriptionSummary"]["StreamARN"]  # the configured region


KEYS = """
[[keys]]
access_key_id = "owner"
secret_access_key = "owner-secret-0123456789"
actions = ["*"]
streams = ["*"]

[[keys]]
access_key_id = "stranger"
secret_access_key = "stranger-secret-0123456789"
actions = ["ListStreams"]
streams = ["none-of-these"]
"""


def keyed(d, key, region="us-east-1"):
    return boto3.client("kinesis", endpoint_url=d.endpoint, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=f"{key}-secret-0123456789", config=Config(retries={"max_attempts": 1}))


def refused(call):
    with pytest.raises(Exception) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_resource_policies_allow_and_deny_with_auth(tmp_path):
    keys = tmp_path / "api-keys.toml"
    keys.write_text(KEYS)
    keys.chmod(0o600)
    d = Daemon(tmp_path, f'[auth]\ncredentials_file = "{keys}"\n[[streams]]\nname = "shared"\nshards = 1\n').start()
    try:
        owner, stranger = keyed(d, "owner"), keyed(d, "stranger", region="eu-west-1")
        arn = owner.describe_stream_summary(StreamName="shared")["StreamDescriptionSummary"]["StreamARN"]
        owner.put_record(StreamName="shared", PartitionKey="k", Data=b"for the stranger")
        assert refused(lambda: stranger.describe_stream_summary(StreamName="shared"))[0] == "AccessDeniedException"

        policy = {"Version": "2012-10-17", "Statement": [
            {"Sid": "read", "Effect": "Allow", "Principal": {"AWS": ["stranger"]},
             "Action": ["kinesis:Get*", "kinesis:DescribeStreamSummary", "kinesis:ListShards"],
             "Resource": "arn:aws:kinesis:*:000000000000:stream/shared"},
            {"Sid": "no-writes-by-owner", "Effect": "Deny", "Principal": {"AWS": "owner"},
             "Action": "kinesis:PutRecord", "Resource": arn}]}
        owner.put_resource_policy(ResourceARN=arn, Policy=json.dumps(policy))
        assert json.loads(owner.get_resource_policy(ResourceARN=arn)["Policy"]) == policy

        # The stranger reads, though its key policy allows nothing on the stream.
        assert stranger.describe_stream_summary(StreamName="shared")["StreamDescriptionSummary"]["StreamName"] == "shared"
        iterator = stranger.get_shard_iterator(StreamName="shared", ShardId="shardId-000000000000",
                                               ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        assert [r["Data"] for r in stranger.get_records(ShardIterator=iterator)["Records"]] == [b"for the stranger"]
        assert refused(lambda: stranger.put_record(StreamName="shared", PartitionKey="k", Data=b"x"))[0] == "AccessDeniedException"
        # An explicit Deny wins over the owner's allow-everything key.
        code, message = refused(lambda: owner.put_record(StreamName="shared", PartitionKey="k", Data=b"x"))
        assert code == "AccessDeniedException" and "explicit deny in a resource-based policy" in message
        owner.put_records(StreamName="shared", Records=[{"PartitionKey": "k", "Data": b"batch"}])

        # A consumer's own policy.
        consumer = owner.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
        assert refused(lambda: stranger.describe_stream_consumer(ConsumerARN=consumer))[0] == "AccessDeniedException"
        owner.put_resource_policy(ResourceARN=consumer, Policy=json.dumps({"Statement": {
            "Effect": "Allow", "Principal": {"AWS": "stranger"}, "Action": "kinesis:DescribeStreamConsumer",
            "Resource": consumer}}))
        assert stranger.describe_stream_consumer(ConsumerARN=consumer)["ConsumerDescription"]["ConsumerName"] == "c"

        # Bad documents are refused, not stored.
        for bad in ["not json", json.dumps({"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "kinesis:*", "Resource": "*"}]}),
                    json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}),
                    json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kinesis:*", "Resource": "*",
                                               "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]})]:
            code, message = refused(lambda: owner.put_resource_policy(ResourceARN=arn, Policy=bad))
            assert code == "InvalidArgumentException" and "resource policy is not valid" in message
        assert json.loads(owner.get_resource_policy(ResourceARN=arn)["Policy"]) == policy

        # Stored with the stream: a restart keeps it.
        d.stop()
        d.start()
        assert refused(lambda: owner.put_record(StreamName="shared", PartitionKey="k", Data=b"x"))[0] == "AccessDeniedException"
        owner.delete_resource_policy(ResourceARN=arn)
        assert owner.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
        owner.put_record(StreamName="shared", PartitionKey="k", Data=b"allowed again")
        assert refused(lambda: stranger.describe_stream_summary(StreamName="shared"))[0] == "AccessDeniedException"
    finally:
        d.stop()


def test_tags_and_settings_by_arn(daemon):
    client = daemon.client()
    client.create_stream(StreamName="tagged", ShardCount=1)
    arn = client.describe_stream_summary(StreamName="tagged")["StreamDescriptionSummary"]["StreamARN"]
    client.tag_resource(ResourceARN=arn, Tags={"team": "edge", "site": "b7"})
    client.untag_resource(ResourceARN=arn, TagKeys=["site"])
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "edge"}]
    assert client.list_tags_for_stream(StreamName="tagged")["Tags"] == [{"Key": "team", "Value": "edge"}]
    consumer = client.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    client.tag_resource(ResourceARN=consumer, Tags={"owner": "ops"})
    assert client.list_tags_for_resource(ResourceARN=consumer)["Tags"] == [{"Key": "owner", "Value": "ops"}]
    assert client.describe_account_settings()["MinimumThroughputBillingCommitment"]["Status"] == "DISABLED"
    client.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=1024)
    with pytest.raises(client.exceptions.InvalidArgumentException) as caught:
        client.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=10240)
    assert "up to 1024 KiB" in str(caught.value)


LONG = "n" * 129
# (action, body, exception, message): what AWS answers, in its form.
VALIDATION = [
    ("CreateStream", {}, "ValidationException",
     "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null"),
    ("CreateStream", {"StreamName": "bad name!", "ShardCount": 0}, "ValidationException",
     "2 validation errors detected: Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1; "
     "Value 'bad name!' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
    ("CreateStream", {"StreamName": LONG}, "ValidationException",
     f"1 validation error detected: Value '{LONG}' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128"),
    ("CreateStream", {"StreamName": "od", "ShardCount": 2, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}, "ValidationException",
     "ShardCount is not expected when StreamMode=ON_DEMAND"),
    ("CreateStream", {"StreamName": "m", "StreamModeDetails": {"StreamMode": "SOMETIMES"}}, "ValidationException",
     "1 validation error detected: Value 'SOMETIMES' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]"),
    ("PutRecord", {"StreamName": "v", "PartitionKey": "", "Data": b"x", "ExplicitHashKey": "abc"}, "ValidationException",
     "2 validation errors detected: Value 'abc' at 'explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38}); "
     "Value '' at 'partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1"),
    ("PutRecord", {"StreamName": "v", "PartitionKey": "k"}, "ValidationException",
     "1 validation error detected: Value null at 'data' failed to satisfy constraint: Member must not be null"),
    ("GetRecords", {"ShardIterator": "", "Limit": 10001}, "ValidationException",
     "2 validation errors detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000; "
     "Value '' at 'shardIterator' failed to satisfy constraint: Member must have length greater than or equal to 1"),
    ("GetShardIterator", {"StreamName": "v", "ShardId": "shardId-000000000000", "ShardIteratorType": "SOMETIMES"}, "ValidationException",
     "1 validation error detected: Value 'SOMETIMES' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: "
     "[AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]"),
    ("ListShards", {"StreamName": "v", "MaxResults": 0}, "ValidationException",
     "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    ("SplitShard", {"StreamName": "bad name!", "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "1"}, "ValidationException",
     "1 validation error detected: Value 'bad name!' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
    ("UpdateShardCount", {"StreamName": "v", "TargetShardCount": 2, "ScalingType": "SIDEWAYS"}, "ValidationException",
     "1 validation error detected: Value 'SIDEWAYS' at 'scalingType' failed to satisfy constraint: Member must satisfy enum value set: [UNIFORM_SCALING]"),
    ("RegisterStreamConsumer", {"StreamARN": "nope", "ConsumerName": "bad name"}, "ValidationException",
     "2 validation errors detected: Value 'bad name' at 'consumerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; "
     "Value 'nope' at 'streamARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+"),
    ("DescribeStreamConsumer", {"ConsumerARN": "arn:aws:kinesis:us-east-1:000000000000:stream/v/consumer/ghost:1"}, "ResourceNotFoundException", "ghost"),
    ("DescribeStreamConsumer", {"StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/v", "ConsumerName": "ghost"}, "ResourceNotFoundException", "ghost"),
    ("IncreaseStreamRetentionPeriod", {"StreamName": "v"}, "ValidationException",
     "1 validation error detected: Value null at 'retentionPeriodHours' failed to satisfy constraint: Member must not be null"),
    ("PutResourcePolicy", {"ResourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/v"}, "ValidationException",
     "1 validation error detected: Value null at 'policy' failed to satisfy constraint: Member must not be null"),
    ("AddTagsToStream", {"StreamName": "v", "Tags": {}}, "ValidationException",
     "1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1"),
]


@pytest.mark.parametrize("action,body,exception,message", VALIDATION, ids=[f"{c[0]}-{k}" for k, c in enumerate(VALIDATION)])
def test_validation_answers_in_aws_form(servers, action, body, exception, message):
    plain, _, _ = servers
    for wire in [Wire("json", plain.endpoint, "json", http2=False), Wire("cbor", plain.endpoint, "cbor", http2=True)]:
        try:
            wire.call("CreateStream", {"StreamName": "v", "ShardCount": 1})
        except WireError:
            pass  # made by the first case or wire
        error = wire.fails(action, body)
        assert error.type == exception, (wire.name, error)
        if exception == "ValidationException" and message.startswith(("1 ", "2 ")):
            assert error.message == message, wire.name
        else:
            assert message in error.message, wire.name
