"""Resharding and read limits through boto3 against the real sluiced."""
import threading
import time

from botocore.exceptions import ClientError

from conftest import get_records


def read_following_parents(kinesis, stream):
    """Reads like the KCL: a shard only once all its parents are read to their end."""
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    done, out = set(), []
    while len(done) < len(shards):
        for shard in shards:
            parents = {shard.get("ParentShardId"), shard.get("AdjacentParentShardId")} - {None}
            if shard["ShardId"] in done or not parents <= done:
                continue
            it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            closed = "EndingSequenceNumber" in shard["SequenceNumberRange"]
            while it:
                page = get_records(kinesis, it)
                out += page["Records"]
                if closed and page.get("NextShardIterator") is None:
                    assert page.get("ChildShards"), "a closed shard ends with its children"
                if not closed and not page["Records"]:
                    break
                it = page.get("NextShardIterator")
            done.add(shard["ShardId"])
    return out


def test_split_and_merge_while_writing_lose_and_reorder_nothing(daemon):
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="rs", ShardCount=1)
    sent = {}
    stop = threading.Event()

    def producer():
        client = daemon.client()
        n = 0
        while not stop.is_set():
            key = f"device-{n % 13}"
            r = client.put_record(StreamName="rs", PartitionKey=key, Data=str(n).encode())
            sent.setdefault(key, []).append(str(n).encode())
            n += 1

    thread = threading.Thread(target=producer)
    thread.start()
    time.sleep(0.5)
    kinesis.split_shard(StreamName="rs", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    assert kinesis.describe_stream_summary(StreamName="rs")["StreamDescriptionSummary"]["OpenShardCount"] == 2
    time.sleep(0.5)
    kinesis.merge_shards(StreamName="rs", ShardToMerge="shardId-000000000001", AdjacentShardToMerge="shardId-000000000002")
    time.sleep(0.5)
    stop.set()
    thread.join()

    shards = kinesis.list_shards(StreamName="rs")["Shards"]
    assert [s["ShardId"] for s in shards] == [f"shardId-00000000000{i}" for i in range(4)]
    assert shards[3]["ParentShardId"] == "shardId-000000000001" and shards[3]["AdjacentParentShardId"] == "shardId-000000000002"
    assert "EndingSequenceNumber" in shards[0]["SequenceNumberRange"]

    records = read_following_parents(kinesis, "rs")
    got = {}
    for r in records:
        got.setdefault(r["PartitionKey"], []).append(r["Data"])
    assert got == sent, "every record exactly once, in per-key order"
    assert sum(len(v) for v in sent.values()) > 50


def test_update_shard_count_and_shard_filters(daemon):
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="u", ShardCount=2)
    result = kinesis.update_shard_count(StreamName="u", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert result["CurrentShardCount"] == 2 and result["TargetShardCount"] == 4
    summary = kinesis.describe_stream_summary(StreamName="u")["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 4 and summary["StreamStatus"] == "ACTIVE"
    latest = kinesis.list_shards(StreamName="u", ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert len(latest) == 4
    everything = kinesis.list_shards(StreamName="u", ShardFilter={"Type": "FROM_TRIM_HORIZON"})["Shards"]
    assert len(everything) == 6
    roots = kinesis.list_shards(StreamName="u", ShardFilter={"Type": "AT_TRIM_HORIZON"})["Shards"]
    assert [s["ShardId"] for s in roots] == ["shardId-000000000000", "shardId-000000000001"]
    try:
        kinesis.update_shard_count(StreamName="u", TargetShardCount=9, ScalingType="UNIFORM_SCALING")
        raise AssertionError("more than doubling must be refused")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "LimitExceededException"


def test_polling_faster_than_five_calls_a_second_is_throttled(daemon):
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="p", ShardCount=1)
    kinesis.put_record(StreamName="p", PartitionKey="k", Data=b"x")
    it = kinesis.get_shard_iterator(StreamName="p", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    time.sleep(1.1)
    clients = [daemon.client() for _ in range(12)]

    def poll(client):
        try:
            client.get_records(ShardIterator=it)
            return "ok"
        except client.exceptions.ProvisionedThroughputExceededException:
            return "throttled"

    started = time.monotonic()
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(poll, clients))
    elapsed = time.monotonic() - started
    # At most 5 calls, plus what refills at 5 a second while the burst runs, get through.
    assert outcomes.count("ok") <= 5 + int(5 * elapsed) + 1
    assert outcomes.count("throttled") >= 1
    time.sleep(1.1)
    for _ in range(12):  # 4 calls a second: within the limit, never throttled
        kinesis.get_records(ShardIterator=it)
        time.sleep(0.25)


def test_stream_mode_and_enhanced_monitoring(daemon):
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    summary = kinesis.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"]["StreamMode"] == "ON_DEMAND" and summary["OpenShardCount"] == 4
    kinesis.update_stream_mode(StreamARN=summary["StreamARN"], StreamModeDetails={"StreamMode": "PROVISIONED"})
    assert kinesis.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]["StreamModeDetails"]["StreamMode"] == "PROVISIONED"
    enabled = kinesis.enable_enhanced_monitoring(StreamName="od", ShardLevelMetrics=["IncomingBytes", "IteratorAgeMilliseconds"])
    assert enabled["DesiredShardLevelMetrics"] == ["IncomingBytes", "IteratorAgeMilliseconds"]
    described = kinesis.describe_stream(StreamName="od")["StreamDescription"]["EnhancedMonitoring"][0]["ShardLevelMetrics"]
    assert described == ["IncomingBytes", "IteratorAgeMilliseconds"]
    disabled = kinesis.disable_enhanced_monitoring(StreamName="od", ShardLevelMetrics=["ALL"])
    assert disabled["DesiredShardLevelMetrics"] == []
