"""The real sluiced driven by aws cli and boto3 over loopback."""
import base64
import datetime
import json
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import get_records, md5_hash_key, read_shard, read_stream


def shard_for(client, stream, key):
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        r = shard["HashKeyRange"]
        if int(r["StartingHashKey"]) <= md5_hash_key(key) <= int(r["EndingHashKey"]):
            return shard["ShardId"]
    raise AssertionError("no shard owns the key")


def test_aws_cli_quick_start(daemon):
    daemon.aws("create-stream", "--stream-name", "test", "--shard-count", "2")
    described = daemon.aws("describe-stream", "--stream-name", "test")["StreamDescription"]
    assert described["StreamStatus"] == "ACTIVE" and len(described["Shards"]) == 2
    assert described["Shards"][1]["HashKeyRange"]["StartingHashKey"] == str(2**127)

    put = daemon.aws("put-record", "--stream-name", "test", "--partition-key", "user1", "--data", "user signup")
    assert put["ShardId"] == shard_for(daemon.client(), "test", "user1")

    batch = daemon.aws("put-records", "--stream-name", "test", "--records",
                       "Data=first,PartitionKey=user2", "Data=second,PartitionKey=user2")
    assert batch["FailedRecordCount"] == 0

    it = daemon.aws("get-shard-iterator", "--stream-name", "test", "--shard-id", put["ShardId"],
                    "--shard-iterator-type", "AT_SEQUENCE_NUMBER", "--starting-sequence-number", put["SequenceNumber"])
    records = daemon.aws("get-records", "--shard-iterator", it["ShardIterator"])["Records"]
    assert base64.b64decode(records[0]["Data"]) == b"user signup"
    assert records[0]["PartitionKey"] == "user1"
    assert records[0]["SequenceNumber"] == put["SequenceNumber"]

    assert daemon.aws("list-streams")["StreamNames"] == ["test"]


def test_boto3_every_iterator_type_order_and_routing(daemon):
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="events", ShardCount=2)
    keys = [f"device-{n}" for n in range(12)]
    sent = []
    for round_ in range(5):
        entries = [{"PartitionKey": k, "Data": f"{k}:{round_}".encode()} for k in keys]
        result = kinesis.put_records(StreamName="events", Records=entries)
        assert result["FailedRecordCount"] == 0
        for entry, r in zip(entries, result["Records"]):
            assert r["ShardId"] == shard_for(kinesis, "events", entry["PartitionKey"])
            sent.append((entry["PartitionKey"], entry["Data"], r["SequenceNumber"], r["ShardId"]))
        time.sleep(0.05)

    everything = read_stream(kinesis, "events")
    assert sum(len(v) for v in everything.values()) == len(sent)
    for key in keys:
        mine = [r["Data"] for shard in everything.values() for r in shard if r["PartitionKey"] == key]
        assert mine == [f"{key}:{n}".encode() for n in range(5)], "per-key order"

    key, _, sequence, shard = sent[len(sent) // 2]
    at = read_shard(kinesis, "events", shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=sequence)
    after = read_shard(kinesis, "events", shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=sequence)
    assert at[0]["SequenceNumber"] == sequence and at[1:] == after

    # botocore sends AT_TIMESTAMP in whole seconds, so the read starts at the first record
    # that arrived at or after that second.
    middle = everything[shard][len(everything[shard]) // 2]
    second = middle["ApproximateArrivalTimestamp"].replace(microsecond=0)
    stamped = read_shard(kinesis, "events", shard, "AT_TIMESTAMP", Timestamp=second)
    assert stamped == [r for r in everything[shard] if r["ApproximateArrivalTimestamp"] >= second]
    assert middle in stamped

    latest = kinesis.get_shard_iterator(StreamName="events", ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    assert get_records(kinesis, latest)["Records"] == []
    kinesis.put_record(StreamName="events", PartitionKey=key, Data=b"late")
    assert [r["Data"] for r in get_records(kinesis, latest)["Records"]] == [b"late"]

    arn = kinesis.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"]["StreamARN"]
    assert kinesis.put_record(StreamARN=arn, PartitionKey=key, Data=b"by arn")["ShardId"] == shard


def test_bad_input_gets_aws_errors_and_loses_nothing(daemon):
    kinesis = daemon.client()
    raw = daemon.client(parameter_validation=False)
    kinesis.create_stream(StreamName="test", ShardCount=1)
    kept = [kinesis.put_record(StreamName="test", PartitionKey="k", Data=f"kept-{n}".encode()) for n in range(20)]

    def error(call, **kwargs):
        with pytest.raises(ClientError) as info:
            call(**kwargs)
        return info.value.response["Error"]["Code"], info.value.response["ResponseMetadata"]["HTTPStatusCode"], info.value.response["Error"]["Message"]

    assert error(raw.put_record, StreamName="test", PartitionKey="k", Data=b"x" * (1024 * 1024 + 1))[:2] == ("ValidationException", 400)
    assert error(raw.put_record, StreamName="test", PartitionKey="", Data=b"x")[:2] == ("ValidationException", 400)
    code, status, message = error(raw.put_record, StreamName="test", PartitionKey="k" * 257, Data=b"x")
    assert (code, status) == ("ValidationException", 400) and "256" in message
    code, status, message = error(kinesis.put_record, StreamName="nope", PartitionKey="k", Data=b"x")
    assert (code, status, message) == ("ResourceNotFoundException", 400, "Stream nope under account 000000000000 not found.")
    assert error(raw.put_records, StreamName="test", Records=[{"PartitionKey": "k", "Data": b"ok"}, {"PartitionKey": "", "Data": b"x"}])[0] == "ValidationException"
    assert error(kinesis.get_records, ShardIterator="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")[0] == "InvalidArgumentException"
    assert error(kinesis.create_stream, StreamName="test", ShardCount=1)[0] == "ResourceInUseException"

    request = urllib.request.Request(daemon.endpoint + "/", data=b'{"StreamName": "test", "Records": [', method="POST",
                                     headers={"X-Amz-Target": "Kinesis_20131202.PutRecords", "Content-Type": "application/x-amz-json-1.1"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request)
    assert info.value.code == 400
    assert json.loads(info.value.read())["__type"] == "SerializationException"

    stored = read_shard(kinesis, "test", "shardId-000000000000")
    assert [r["Data"] for r in stored] == [f"kept-{n}".encode() for n in range(20)]
    assert [r["SequenceNumber"] for r in stored] == [k["SequenceNumber"] for k in kept]


def test_write_limit_answers_throttling_and_recovers(daemon):
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="hot", ShardCount=1)
    failed = 0
    started = time.monotonic()
    for _ in range(3):
        result = kinesis.put_records(StreamName="hot", Records=[{"PartitionKey": "k", "Data": b"x"}] * 500)
        failed += result["FailedRecordCount"]
        codes = {r.get("ErrorCode") for r in result["Records"]} - {None}
        assert codes <= {"ProvisionedThroughputExceededException"}
    # The bucket holds 1,000 and refills 1,000/s while the three calls run.
    allowed = 1000 + 1000 * (time.monotonic() - started)
    assert failed > 0 and 1500 - failed <= allowed, f"{1500 - failed} accepted, at most {allowed:.0f} allowed"
    time.sleep(1.1)
    assert kinesis.put_records(StreamName="hot", Records=[{"PartitionKey": "k", "Data": b"y"}] * 100)["FailedRecordCount"] == 0
    assert len(read_shard(kinesis, "hot", "shardId-000000000000")) == 1500 - failed + 100


def test_retention_tags_limits(daemon):
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="r", ShardCount=3)
    kinesis.increase_stream_retention_period(StreamName="r", RetentionPeriodHours=72)
    kinesis.add_tags_to_stream(StreamName="r", Tags={"team": "edge"})
    summary = kinesis.describe_stream_summary(StreamName="r")["StreamDescriptionSummary"]
    assert summary["RetentionPeriodHours"] == 72 and summary["OpenShardCount"] == 3
    assert kinesis.list_tags_for_stream(StreamName="r")["Tags"] == [{"Key": "team", "Value": "edge"}]
    limits = kinesis.describe_limits()
    assert limits["OpenShardCount"] == 3 and limits["ShardLimit"] == 500
    kinesis.delete_stream(StreamName="r")
    assert kinesis.list_streams()["StreamNames"] == []
