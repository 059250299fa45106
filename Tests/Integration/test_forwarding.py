"""Forwarding to a remote Kinesis endpoint: the real sluiced tails files into a remote
stream served by a stand-in on 127.0.0.1 — `moto_server` (pip), or a second sluiced with
access control on (which also checks that the forwarder's SigV4 signatures verify).
KPL aggregation is checked against the reference Python library, aws-kinesis-agg."""
import base64
import json
import shutil
import subprocess
import time
import urllib.request

import boto3
import pytest
from aws_kinesis_agg.aggregator import RecordAggregator
from aws_kinesis_agg.deaggregator import deaggregate_records
from botocore.config import Config

from conftest import Daemon, free_port, read_shard, status, wait_until

KEYS = """
[[keys]]
access_key_id = "forwarder"
secret_access_key = "forwarder-secret-0123"
actions = ["PutRecords", "ListShards", "DescribeStreamSummary"]
streams = ["logs"]

[[keys]]
access_key_id = "admin"
secret_access_key = "admin-secret-0123456"
actions = ["*"]
streams = ["*"]
"""


class Moto:
    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([shutil.which("moto_server") or "moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.up, timeout=30, interval=0.1, what="moto_server")

    def up(self):
        try:
            self.client().list_streams()
            return True
        except Exception:
            return False

    def client(self):
        return boto3.client("kinesis", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id="test",
                            aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


@pytest.fixture
def moto():
    m = Moto()
    yield m
    m.stop()


def forwarder(tmp_path, endpoint, *, sink="", limits="", key="{file.name}", parser="raw"):
    work = tmp_path / "forwarder"
    work.mkdir(exist_ok=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    creds = work / "aws-credentials"
    creds.write_text("[default]\naws_access_key_id = forwarder\naws_secret_access_key = forwarder-secret-0123\n")
    config = (
        f'[sink]\nkind = "kinesis"\nendpoint = "{endpoint}"\nregion = "us-east-1"\ncredentials_file = "{creds}"\n'
        f'map_refresh_seconds = 2\n{sink}\n{limits}\n'
        f'[[sources.file]]\nstream = "logs"\npaths = ["{logs}/*.log"]\npartition_key = "{key}"\nparser = "{parser}"\n'
        'poll_interval_ms = 100\n'
    )
    return Daemon(work, config), logs


def remote_records(client, stream="logs"):
    out = []
    for shard in sorted(client.list_shards(StreamName=stream)["Shards"], key=lambda s: s["ShardId"]):
        out += read_shard(client, stream, shard["ShardId"])
    return out


def by_key(records):
    keyed = {}
    for r in records:
        keyed.setdefault(r["PartitionKey"], []).append(r["Data"].decode())
    return keyed


def write_lines(logs, files=3, lines=1000):
    expected = {}
    for f in range(files):
        name = f"app{f}.log"
        rows = [f"{name}-{n:05d}" for n in range(lines)]
        (logs / name).write_text("".join(r + "\n" for r in rows))
        expected[name] = rows
    return expected


def test_file_records_arrive_in_the_remote_stream_in_per_key_order(tmp_path, moto):
    moto.client().create_stream(StreamName="logs", ShardCount=2)
    d, logs = forwarder(tmp_path, moto.endpoint)
    d.start()
    try:
        expected = write_lines(logs)
        wait_until(lambda: len(remote_records(moto.client())) >= 3000, timeout=60, what="records forwarded")
        assert by_key(remote_records(moto.client())) == expected
        # The limiter meters the remote stream's two shards.
        assert [s["shardId"] for s in status(d)["streams"][0]["shards"]] == ["shardId-000000000000", "shardId-000000000001"]
    finally:
        d.stop()


def test_aggregated_records_deaggregate_with_the_reference_library(tmp_path, moto):
    moto.client().create_stream(StreamName="logs", ShardCount=1)
    d, logs = forwarder(tmp_path, moto.endpoint, sink="aggregation = true\n",
                        limits="[limits]\nrecords_per_second = 20\n")
    d.start()
    try:
        expected = write_lines(logs, files=2, lines=2000)
        # 4,000 user records at 20 Kinesis records/s: only aggregation gets them through fast.
        wait_until(lambda: sum(len(deaggregate_records([as_lambda(r)])) for r in remote_records(moto.client())) >= 4000,
                   timeout=60, what="aggregated records forwarded")
        stored = remote_records(moto.client())
        assert len(stored) < 100, "records should have been aggregated"
        users = [u for r in stored for u in deaggregate_records([as_lambda(r)])]
        keyed = {}
        for u in users:
            keyed.setdefault(u["kinesis"]["partitionKey"], []).append(base64.b64decode(u["kinesis"]["data"]).decode())
        assert keyed == expected
    finally:
        d.stop()


def as_lambda(record):
    """A GetRecords record in the shape aws-kinesis-agg's deaggregator takes."""
    return {"kinesis": {"partitionKey": record["PartitionKey"], "data": base64.b64encode(record["Data"]).decode(),
                        "sequenceNumber": record["SequenceNumber"], "kinesisSchemaVersion": "1.0",
                        "approximateArrivalTimestamp": record["ApproximateArrivalTimestamp"].timestamp()}}


def test_sluice_reads_records_the_reference_aggregator_made(daemon):
    daemon.client().create_stream(StreamName="agg", ShardCount=1)
    aggregator = RecordAggregator()
    users = [(f"key-{n % 5}", f"user record {n}") for n in range(50)]
    for key, text in users:
        aggregator.add_user_record(key, text.encode())
    key, _, data = aggregator.clear_and_get().get_contents()
    daemon.client().put_record(StreamName="agg", PartitionKey=key, Data=data)
    out = daemon.sluice("read", "--endpoint", daemon.endpoint, "agg", "--json").stdout
    printed = [json.loads(line) for line in out.splitlines()]
    assert [(p["PartitionKey"], p["Data"]) for p in printed] == users
    assert [p["SubSequenceNumber"] for p in printed] == list(range(50))
    raw = daemon.sluice("read", "--endpoint", daemon.endpoint, "agg", "--no-deaggregate", "--json").stdout
    assert len(raw.splitlines()) == 1


def remote_sluice(tmp_path, extra=""):
    keys = tmp_path / "api-keys.toml"
    keys.write_text(KEYS)
    keys.chmod(0o600)
    (tmp_path / "remote").mkdir()
    return Daemon(tmp_path / "remote", f'[auth]\ncredentials_file = "{keys}"\n[[streams]]\nname = "logs"\nshards = 3\n{extra}')


def admin(d):
    return boto3.client("kinesis", endpoint_url=d.endpoint, region_name="us-east-1", aws_access_key_id="admin",
                        aws_secret_access_key="admin-secret-0123456", config=Config(retries={"max_attempts": 1}))


def test_remote_down_spools_then_drains_with_nothing_lost(tmp_path):
    remote = remote_sluice(tmp_path).start()
    d, logs = forwarder(tmp_path, remote.endpoint)
    d.start()
    try:
        first = write_lines(logs, files=2, lines=500)
        wait_until(lambda: len(remote_records(admin(remote))) >= 1000, timeout=60, what="first records forwarded")
        remote.stop()
        for name in first:
            more = [f"{name}-late-{n:05d}" for n in range(500)]
            with open(logs / name, "a") as f:
                f.write("".join(r + "\n" for r in more))
            first[name] += more
        wait_until(lambda: sum(sh["spoolRecords"] for st in status(d)["streams"] for sh in st["shards"]) >= 1000,
                   timeout=60, what="records spooled while the remote is down")
        remote.start()
        wait_until(lambda: len(remote_records(admin(remote))) >= 2000, timeout=90, what="spool drained to the remote")
        assert by_key(remote_records(admin(remote))) == first
        assert [s["shardId"] for s in status(d)["streams"][0]["shards"]] == [f"shardId-00000000000{i}" for i in range(3)]
    finally:
        d.stop()
        remote.stop()


def test_a_throttling_remote_gets_only_the_failed_records_again(tmp_path):
    # The remote takes 200 records/s per shard; the forwarder's meter allows 1,000, so part
    # of each PutRecords batch is throttled and must be sent again, and only that part.
    remote = remote_sluice(tmp_path, "[engine]\nshard_write_records_per_second = 200\n").start()
    d, logs = forwarder(tmp_path, remote.endpoint, sink="max_attempts = 50\n", key="{json.k}", parser="json")
    d.start()
    try:
        rows = [json.dumps({"k": f"key-{n % 30}", "n": n}) for n in range(3000)]
        (logs / "a.log").write_text("".join(r + "\n" for r in rows))
        wait_until(lambda: len(remote_records(admin(remote))) >= 3000, timeout=120, what="records forwarded")
        time.sleep(1)
        stored = remote_records(admin(remote))
        assert len(stored) == 3000, "a resent whole batch would have stored duplicates"
        assert sorted(json.loads(r["Data"])["n"] for r in stored) == list(range(3000))
        def metric(d, name):
            text = urllib.request.urlopen(d.endpoint + "/metrics").read().decode()
            return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))
        retried = metric(d, "KinesisSinkRetriedRecords")
        assert retried > 0, "the remote should have throttled part of the batches"
        assert metric(remote, "WriteProvisionedThroughputExceeded") > 0
    finally:
        d.stop()
        remote.stop()
