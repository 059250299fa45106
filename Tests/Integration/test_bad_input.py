"""Bad input against the real sluiced: every action with out-of-range and wrong-typed
values in every field, malformed JSON, truncated and lying bodies. Each must be answered
with a 4xx and an AWS error type (never a 5xx, a reset or a crash), and after each group
a normal PutRecord must still be accepted."""
import http.client
import json
import socket

import pytest

from conftest import Daemon

# Numbers at the edges of every integer width, and past what a double holds.
NUMBERS = [0, -1, 2**31, -2**31 - 1, 2**63, -2**63 - 1, 2**64, 2**128, 1.5, -0.5, 1e16, 1e20, 1e308, -1e308]
# Tokens json.dumps cannot write: huge exponents (infinite as a double), long digit runs.
RAW_NUMBERS = ["1e400", "-1e400", "1E999999999", "0." + "0" * 400 + "1", "9" * 400]
STRINGS = ["", ".", "..", "-", "x" * 129, "x" * 5000, "../../etc/passwd", "/abs", "%2E", "a\u0000b", "é",
           "NaN", "Infinity", "-1", "shardId--1", "shardId-999999999999999", "4" + "9" * 39, "4" + "0" * 40]
OTHERS = [None, True, [], {}, [1], {"a": 1}]
BAD_VALUES = [("n", v) for v in NUMBERS] + [("raw", v) for v in RAW_NUMBERS] + \
             [("s", v) for v in STRINGS] + [("o", v) for v in OTHERS]

STREAM = "fuzz"
ARN = f"arn:aws:kinesis:us-east-1:000000000000:stream/{STREAM}"
SHARD = "shardId-000000000000"


def base_bodies(iterator, consumer_arn):
    """A well-formed request per action, aimed at harmless targets."""
    return {
        "CreateStream": {"StreamName": "fuzz-created", "ShardCount": 1},
        "DeleteStream": {"StreamName": "fuzz-absent"},
        "DescribeStream": {"StreamName": STREAM, "Limit": 10, "ExclusiveStartShardId": SHARD},
        "DescribeStreamSummary": {"StreamName": STREAM},
        "ListStreams": {"Limit": 10, "ExclusiveStartStreamName": "a"},
        "ListShards": {"StreamName": STREAM, "MaxResults": 10, "ShardFilter": {"Type": "AT_TIMESTAMP", "Timestamp": 1}},
        "PutRecord": {"StreamName": STREAM, "PartitionKey": "k", "Data": "aGk=", "ExplicitHashKey": "1"},
        "PutRecords": {"StreamName": STREAM, "Records": [{"PartitionKey": "k", "Data": "aGk="}]},
        "GetShardIterator": {"StreamName": STREAM, "ShardId": SHARD, "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1},
        "GetRecords": {"ShardIterator": iterator, "Limit": 10},
        "IncreaseStreamRetentionPeriod": {"StreamName": STREAM, "RetentionPeriodHours": 24},
        "DecreaseStreamRetentionPeriod": {"StreamName": STREAM, "RetentionPeriodHours": 24},
        "AddTagsToStream": {"StreamName": STREAM, "Tags": {"k": "v"}},
        "RemoveTagsFromStream": {"StreamName": STREAM, "TagKeys": ["k"]},
        "ListTagsForStream": {"StreamName": STREAM, "Limit": 10, "ExclusiveStartTagKey": "a"},
        "SplitShard": {"StreamName": "fuzz-absent", "ShardToSplit": SHARD, "NewStartingHashKey": "1"},
        "MergeShards": {"StreamName": "fuzz-absent", "ShardToMerge": SHARD, "AdjacentShardToMerge": "shardId-000000000001"},
        "UpdateShardCount": {"StreamName": "fuzz-absent", "TargetShardCount": 2, "ScalingType": "UNIFORM_SCALING"},
        "UpdateStreamMode": {"StreamARN": ARN + "-absent", "StreamModeDetails": {"StreamMode": "PROVISIONED"}},
        "EnableEnhancedMonitoring": {"StreamName": STREAM, "ShardLevelMetrics": ["IncomingBytes"]},
        "DisableEnhancedMonitoring": {"StreamName": STREAM, "ShardLevelMetrics": ["IncomingBytes"]},
        "RegisterStreamConsumer": {"StreamARN": ARN, "ConsumerName": "c2"},
        "DeregisterStreamConsumer": {"StreamARN": ARN, "ConsumerName": "absent"},
        "DescribeStreamConsumer": {"ConsumerARN": consumer_arn},
        "ListStreamConsumers": {"StreamARN": ARN, "MaxResults": 10},
        "StartStreamEncryption": {"StreamName": STREAM, "EncryptionType": "KMS", "KeyId": "absent"},
        "StopStreamEncryption": {"StreamName": "fuzz-absent", "EncryptionType": "KMS", "KeyId": "absent"},
        "SubscribeToShard": {"ConsumerARN": consumer_arn, "ShardId": SHARD,
                             "StartingPosition": {"Type": "AT_TIMESTAMP", "Timestamp": 1}},
        "DescribeLimits": {},
    }


def encode(body, path, kind, value):
    """`body` with the member at `path` replaced by `value`, as JSON text."""
    marker = "\u2603MARK\u2603"
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = marker if kind == "raw" else value
    text = json.dumps(copy)
    return text.replace(json.dumps(marker), value) if kind == "raw" else text


def member_paths(body, prefix=()):
    for key, value in body.items():
        yield prefix + (key,)
        if isinstance(value, dict) and key != "Tags":
            yield from member_paths(value, prefix + (key,))
        if isinstance(value, list) and value and isinstance(value[0], dict):
            yield from ((*p[:len(prefix) + 1], 0, *p[len(prefix) + 1:]) for p in member_paths(value[0], prefix + (key,)))


def post(d, action, body, timeout=30, target="Kinesis_20131202."):
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=timeout)
    try:
        data = body if isinstance(body, bytes) else body.encode()
        conn.request("POST", "/", body=data, headers={
            "X-Amz-Target": f"{target}{action}", "Content-Type": "application/x-amz-json-1.1"})
        response = conn.getresponse()
        # An accepted subscription streams for minutes: its status is the answer.
        payload = b"" if action == "SubscribeToShard" and response.status == 200 else response.read()
        return response.status, payload
    finally:
        conn.close()


def assert_error_shape(status, payload, what):
    assert status < 500, f"{what}: answered {status} {payload[:300]!r}"
    if status >= 400:
        shape = json.loads(payload)
        assert shape.get("__type") and shape.get("message"), f"{what}: error without __type/message: {payload[:300]!r}"


def assert_serves(d):
    assert d.proc.poll() is None, f"sluiced died:\n{d.log.read_text()[-3000:]}"
    status, payload = post(d, "PutRecord", json.dumps({"StreamName": STREAM, "PartitionKey": "alive", "Data": "aGk="}))
    assert status == 200, payload


@pytest.fixture(scope="module")
def fuzzd(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("fuzz")).start()
    client = d.client()
    client.create_stream(StreamName=STREAM, ShardCount=2)
    consumer = client.register_stream_consumer(StreamARN=ARN, ConsumerName="c1")["Consumer"]["ConsumerARN"]
    iterator = client.get_shard_iterator(StreamName=STREAM, ShardId=SHARD, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    d.bases = base_bodies(iterator, consumer)
    yield d
    d.proc.kill()
    d.proc.wait()


def test_every_action_survives_bad_values_in_every_field(fuzzd):
    d = fuzzd
    answered = 0
    for action, body in d.bases.items():
        for path in list(member_paths(body)):
            for kind, value in BAD_VALUES:
                status, payload = post(d, action, encode(body, path, kind, value))
                assert_error_shape(status, payload, f"{action} {'.'.join(map(str, path))}={value!r:.60}")
                answered += 1
        assert_serves(d)
    assert answered > 2000


FIREHOSE = "Firehose_20150804."
FIREHOSE_BODIES = {
    "PutRecord": {"DeliveryStreamName": "fuzz-fh", "Record": {"Data": "aGk="}},
    "PutRecordBatch": {"DeliveryStreamName": "fuzz-fh", "Records": [{"Data": "aGk="}]},
    "ListDeliveryStreams": {"Limit": 10, "DeliveryStreamType": "DirectPut", "ExclusiveStartDeliveryStreamName": "a"},
    "DescribeDeliveryStream": {"DeliveryStreamName": "fuzz-fh"},
    "CreateDeliveryStream": {"DeliveryStreamName": "fuzz-fh-new", "DeliveryStreamType": "DirectPut"},
    "DeleteDeliveryStream": {"DeliveryStreamName": "fuzz-fh-absent"},
}


def test_every_firehose_action_survives_bad_values_malformed_json_and_bad_base64(fuzzd):
    d = fuzzd
    assert post(d, "CreateDeliveryStream", json.dumps({"DeliveryStreamName": "fuzz-fh"}), target=FIREHOSE)[0] == 200
    answered = 0
    for action, body in FIREHOSE_BODIES.items():
        for path in list(member_paths(body)):
            for kind, value in BAD_VALUES:
                status, payload = post(d, action, encode(body, path, kind, value), target=FIREHOSE)
                assert_error_shape(status, payload, f"firehose {action} {'.'.join(map(str, path))}={value!r:.60}")
                answered += 1
        for raw in [b"", b"{", b"[]", b"null", b'{"DeliveryStreamName": "fuzz-fh", "Records": [', b"\xff\xfe"]:
            assert_error_shape(*post(d, action, raw, target=FIREHOSE), f"firehose {action} {raw!r}")
        assert_serves(d)
    assert answered > 500
    for data in ["not base64!", "aGk", "aGk=\u00e9"]:
        status, payload = post(d, "PutRecord", json.dumps({"DeliveryStreamName": "fuzz-fh", "Record": {"Data": data}}), target=FIREHOSE)
        assert status == 400 and json.loads(payload)["__type"].endswith("SerializationException"), payload
    status, payload = post(d, "ListDeliveryStreams", json.dumps({"Limit": -1}), target=FIREHOSE)
    assert status == 400 and "ValidationException" in json.loads(payload)["__type"], payload


@pytest.mark.parametrize("timestamp", ["1e16", "1e20", "1e308", "1e400", "-1", "9.3e15"])
def test_huge_iterator_timestamps_are_invalid_arguments(fuzzd, timestamp):
    body = encode(d_base := fuzzd.bases["GetShardIterator"], ("Timestamp",), "raw", timestamp)
    status, payload = post(fuzzd, "GetShardIterator", body)
    assert status == 400 and json.loads(payload)["__type"] in ("InvalidArgumentException", "SerializationException"), payload
    assert d_base["Timestamp"] == 1
    assert_serves(fuzzd)


@pytest.mark.parametrize("action,path,value", [
    ("ListTagsForStream", ("Limit",), -1),
    ("ListStreamConsumers", ("MaxResults",), -1),
    ("ListStreams", ("Limit",), 0),
    ("CreateStream", ("ShardCount",), 2**63 - 1),
    ("GetRecords", ("Limit",), 10001),
])
def test_out_of_range_counts_are_validation_errors(fuzzd, action, path, value):
    status, payload = post(fuzzd, action, encode(fuzzd.bases[action], path, "n", value))
    assert status == 400, payload
    assert json.loads(payload)["__type"] in ("ValidationException", "LimitExceededException", "InvalidArgumentException")


def test_a_fraction_where_an_integer_belongs_says_so(fuzzd):
    status, payload = post(fuzzd, "GetRecords", encode(fuzzd.bases["GetRecords"], ("Limit",), "n", 1.5))
    error = json.loads(payload)
    assert status == 400 and error["__type"] == "SerializationException"
    assert "1.5" in error["message"] or "Limit" in error["message"], error


@pytest.mark.parametrize("body", [
    b"{", b"[]", b"null", b'"x"', b"42", b'{"StreamName": }', b"\xff\xfe\xfd", b"{" + b'"a":' * 10 + b"1",
    b"[" * 100_000, b'{"StreamName": "' + b"\\u" + b'"}',
])
def test_malformed_json_is_a_serialization_error(fuzzd, body):
    status, payload = post(fuzzd, "DescribeStreamSummary", body)
    assert_error_shape(status, payload, f"body {body[:40]!r}")
    assert status == 400
    assert_serves(fuzzd)


def raw_exchange(d, request: bytes, shutdown_write=False):
    """Sends raw bytes; returns what the server answered before closing (may be b'')."""
    with socket.create_connection(("127.0.0.1", d.port), timeout=30) as s:
        s.sendall(request)
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b"Content-Length" in b"".join(chunks):
                head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0].split(b":")[1])
                if len(rest) >= length:
                    break
        return b"".join(chunks)


HEAD = (b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: Kinesis_20131202.PutRecord\r\n"
        b"Content-Type: application/x-amz-json-1.1\r\n")


def test_a_bad_chunk_size_is_not_called_too_large(fuzzd):
    answer = raw_exchange(fuzzd, HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
    assert b"413" not in answer.split(b"\r\n", 1)[0], answer[:300]
    assert b"larger than" not in answer
    assert_serves(fuzzd)


def test_a_body_cut_short_is_a_serialization_error(fuzzd):
    body = json.dumps({"StreamName": STREAM, "PartitionKey": "k", "Data": "aGk="}).encode()
    answer = raw_exchange(fuzzd, HEAD + b"Content-Length: %d\r\n\r\n" % (len(body) + 100) + body, shutdown_write=True)
    if answer:  # the server may also just close a connection whose body never came
        status_line = answer.split(b"\r\n", 1)[0]
        assert b" 400 " in status_line, answer[:300]
        assert b"SerializationException" in answer
    assert_serves(fuzzd)


@pytest.fixture
def fresh(tmp_path):
    d = Daemon(tmp_path)
    yield d
    if d.proc and d.proc.poll() is None:
        d.proc.kill()
        d.proc.wait()


def test_odd_legal_stream_names_keep_their_records_across_a_restart(fresh):
    d = fresh.start()
    client = d.client()
    names = [".", "..", "-", "_", ".hidden", "a.b", "x" * 128, "Case", "case", "CASE"]
    for name in names:
        client.create_stream(StreamName=name, ShardCount=1)
        for k in range(10):
            client.put_record(StreamName=name, PartitionKey="k", Data=f"{name}:{k}".encode())
    d.stop()
    d.start()
    client = d.client()
    assert sorted(client.list_streams()["StreamNames"]) == sorted(names)
    from conftest import read_stream
    for name in names:
        records = [r["Data"].decode() for rs in read_stream(client, name).values() for r in rs]
        assert records == [f"{name}:{k}" for k in range(10)], name
    # Nothing was written beside the streams' own directories.
    assert sorted(p.name for p in (d.data_dir / "streams").iterdir() if not p.is_dir()) == []
    for name in names:
        client.delete_stream(StreamName=name)
    assert client.list_streams()["StreamNames"] == []
    d.stop()
    d.start()
    assert d.client().list_streams()["StreamNames"] == []
    assert d.sluice("verify", str(d.data_dir)).returncode == 0
    d.stop()
