#!/usr/bin/env python3
"""Put-to-get latency of a running sluiced: a writer puts records at a steady rate
(PutRecord, acknowledged after fsync) while an enhanced fan-out consumer receives them
(SubscribeToShard); each record carries its send time. Prints one JSON line with the
p50, p99 and p99.9 in milliseconds.

    scripts/latency.py --endpoint http://127.0.0.1:4567 --rate 200 --seconds 20
"""
import argparse
import json
import threading
import time

import boto3
from botocore.config import Config


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", default="http://127.0.0.1:4567")
    p.add_argument("--rate", type=int, default=200, help="records per second")
    p.add_argument("--seconds", type=int, default=20)
    args = p.parse_args()
    client = boto3.client("kinesis", endpoint_url=args.endpoint, region_name="us-east-1", aws_access_key_id="bench",
                          aws_secret_access_key="bench", config=Config(retries={"max_attempts": 3}))
    stream = f"latency-{int(time.time())}"
    client.create_stream(StreamName=stream, ShardCount=1)
    arn = client.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    consumer = client.register_stream_consumer(StreamARN=arn, ConsumerName="latency")["Consumer"]["ConsumerARN"]
    latencies, stop = [], threading.Event()

    def consume():
        position = {"Type": "LATEST"}
        while not stop.is_set():
            events = client.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000", StartingPosition=position)
            for event in events["EventStream"]:
                got = time.perf_counter_ns()
                batch = event.get("SubscribeToShardEvent", {})
                for record in batch.get("Records", []):
                    latencies.append((got - int(record["Data"])) / 1e6)
                if batch.get("ContinuationSequenceNumber"):
                    position = {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": batch["ContinuationSequenceNumber"]}
                if stop.is_set():
                    break

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    time.sleep(1.0)
    start = time.perf_counter()
    for n in range(args.rate * args.seconds):
        due = start + n / args.rate
        while time.perf_counter() < due:
            time.sleep(max(0, due - time.perf_counter()))
        client.put_record(StreamName=stream, PartitionKey="k", Data=str(time.perf_counter_ns()).encode())
    time.sleep(1.0)
    stop.set()
    client.deregister_stream_consumer(ConsumerARN=consumer)
    client.delete_stream(StreamName=stream)
    values = sorted(latencies)

    def pct(q):
        return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")

    print(json.dumps({"bench": "put-to-get-latency", "records": len(values), "rate": args.rate,
                      "p50_ms": round(pct(0.5), 2), "p99_ms": round(pct(0.99), 2), "p999_ms": round(pct(0.999), 2)}))


if __name__ == "__main__":
    main()
