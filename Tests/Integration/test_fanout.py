"""Enhanced fan-out with boto3's subscribe_to_shard against the real sluiced."""
import threading
import time

from botocore.exceptions import ClientError

from conftest import Daemon


def collect(kinesis, consumer_arn, shard, position, out, stop_after=None):
    """Reads one subscription to its end; returns the last continuation sequence number."""
    response = kinesis.subscribe_to_shard(ConsumerARN=consumer_arn, ShardId=shard, StartingPosition=position)
    last = None
    for event in response["EventStream"]:
        e = event["SubscribeToShardEvent"]
        out.extend(r["Data"] for r in e["Records"])
        last = e.get("ContinuationSequenceNumber") or last
        if stop_after and len(out) >= stop_after:
            break
    return last


def test_two_consumers_get_pushed_records_and_resume_after_the_end(tmp_path):
    daemon = Daemon(tmp_path, extra_config="").start()
    text = daemon.config.read_text().replace('listen = ', 'subscription_seconds = 3\nlisten = ')
    daemon.stop()
    daemon.config.write_text(text)
    daemon.start()
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="fan", ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName="fan")["StreamDescriptionSummary"]["StreamARN"]
    consumers = [kinesis.register_stream_consumer(StreamARN=arn, ConsumerName=name)["Consumer"] for name in ("alpha", "beta")]
    assert {c["ConsumerName"] for c in kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]} == {"alpha", "beta"}
    assert kinesis.describe_stream_summary(StreamName="fan")["StreamDescriptionSummary"]["ConsumerCount"] == 2
    described = kinesis.describe_stream_consumer(ConsumerARN=consumers[0]["ConsumerARN"])["ConsumerDescription"]
    assert described["ConsumerStatus"] == "ACTIVE" and described["StreamARN"] == arn

    for batch in range(4):
        kinesis.put_records(StreamName="fan", Records=[{"PartitionKey": "k", "Data": f"{batch}-{n}".encode()} for n in range(100)])
    expected = [f"{b}-{n}".encode() for b in range(4) for n in range(100)]

    results = {c["ConsumerName"]: [] for c in consumers}
    continuations = {}

    def run(consumer):
        continuations[consumer["ConsumerName"]] = collect(
            daemon.client(), consumer["ConsumerARN"], "shardId-000000000000", {"Type": "TRIM_HORIZON"}, results[consumer["ConsumerName"]])

    threads = [threading.Thread(target=run, args=(c,)) for c in consumers]
    started = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(1)
    kinesis.put_records(StreamName="fan", Records=[{"PartitionKey": "k", "Data": f"live-{n}".encode()} for n in range(50)])
    expected += [f"live-{n}".encode() for n in range(50)]
    for t in threads:
        t.join()
    assert time.monotonic() - started < 15, "subscriptions end after subscription_seconds"
    for name in results:
        assert results[name] == expected, f"{name} got every record, pushed, in order"

    # After the end: resume from the continuation, getting only what came since.
    kinesis.put_records(StreamName="fan", Records=[{"PartitionKey": "k", "Data": b"after-resume"}])
    resumed = []
    collect(daemon.client(), consumers[0]["ConsumerARN"], "shardId-000000000000",
            {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": continuations["alpha"]}, resumed)
    assert resumed == [b"after-resume"]

    # One subscription per consumer and shard at a time.
    holder = threading.Thread(target=collect, args=(daemon.client(), consumers[1]["ConsumerARN"], "shardId-000000000000", {"Type": "LATEST"}, []))
    holder.start()
    time.sleep(0.5)
    try:
        daemon.client().subscribe_to_shard(ConsumerARN=consumers[1]["ConsumerARN"], ShardId="shardId-000000000000", StartingPosition={"Type": "LATEST"})
        raise AssertionError("a second subscription must be refused")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ResourceInUseException"
    holder.join()

    kinesis.deregister_stream_consumer(ConsumerARN=consumers[0]["ConsumerARN"])
    assert [c["ConsumerName"] for c in kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]] == ["beta"]
    daemon.stop()
