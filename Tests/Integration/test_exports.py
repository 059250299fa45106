"""Exports end to end: the real sluiced stores every record locally first (file lines, MQTT
messages, a local boto3 app's PutRecords) and an `[[exports]] kind = "kinesis"` forwards
them to a remote stream played by `moto_server` (pip) or by a second sluiced with access
control on (whose SigV4 checks then verify the export's signatures). KPL aggregation is
checked against the reference Python library, aws-kinesis-agg."""
import base64
import json
import random
import shutil
import subprocess
import time
import urllib.request
from datetime import datetime, timezone

import boto3
import pytest
from aws_kinesis_agg.aggregator import RecordAggregator
from aws_kinesis_agg.deaggregator import deaggregate_records
from botocore.config import Config

from conftest import Daemon, free_port, read_shard, status, wait_until
from test_mqtt import Broker, publish

KEYS = """
[[keys]]
access_key_id = "forwarder"
secret_access_key = "forwarder-secret-0123"
actions = ["PutRecords", "ListShards"]
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


def exporter(tmp_path, endpoint, *, export="", streams='[[streams]]\nname = "logs"\nshards = 2\n', extra="", key="{file.name}", parser="raw"):
    """A sluiced that tails `logs/*.log` into the local stream `logs` and exports it."""
    work = tmp_path / "exporter"
    work.mkdir(exist_ok=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    creds = work / "aws-credentials"
    creds.write_text("[default]\naws_access_key_id = forwarder\naws_secret_access_key = forwarder-secret-0123\n")
    config = (
        f'{streams}\n{extra}\n'
        f'[[exports]]\nname = "to-remote"\nstream = "logs"\nkind = "kinesis"\nendpoint = "{endpoint}"\n'
        f'region = "us-east-1"\ncredentials_file = "{creds}"\nmap_refresh_seconds = 2\n{export}\n'
        f'[[sources.file]]\nstream = "logs"\npaths = ["{logs}/*.log"]\npartition_key = "{key}"\nparser = "{parser}"\n'
        'poll_interval_ms = 100\n'
    )
    return Daemon(work, config), logs


def remote_records(client, stream="logs"):
    """Every record of the remote stream, parents before children."""
    out = []
    for shard in sorted(client.list_shards(StreamName=stream)["Shards"], key=lambda s: int(s["ShardId"].split("-")[1])):
        out += [dict(r, ShardId=shard["ShardId"]) for r in read_shard(client, stream, shard["ShardId"])]
    return out


def by_key(records, last_occurrence=False):
    """Each key's data in order. With `last_occurrence`, a record sent again (at-least-once)
    counts where it arrived last."""
    keyed = {}
    for r in records:
        rows = keyed.setdefault(r["PartitionKey"], [])
        text = r["Data"].decode()
        if last_occurrence and text in rows:
            rows.remove(text)
        rows.append(text)
    return keyed


def write_lines(logs, files=3, lines=1000, tag=""):
    expected = {}
    for f in range(files):
        name = f"app{f}.log"
        rows = [f"{name}-{tag}{n:05d}" for n in range(lines)]
        with open(logs / name, "a") as out:
            out.write("".join(r + "\n" for r in rows))
        expected[name] = rows
    return expected


def export_status(d, name="to-remote"):
    return next(e for e in status(d)["exports"] if e["name"] == name)


def metric(d, name):
    text = urllib.request.urlopen(d.endpoint + "/metrics").read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + "{") or line.startswith(name + " "))


def remote_sluice(tmp_path, extra="", shards=3):
    keys = tmp_path / "api-keys.toml"
    keys.write_text(KEYS)
    keys.chmod(0o600)
    (tmp_path / "remote").mkdir(exist_ok=True)
    return Daemon(tmp_path / "remote", f'[auth]\ncredentials_file = "{keys}"\n[[streams]]\nname = "logs"\nshards = {shards}\n{extra}')


def admin(d):
    return boto3.client("kinesis", endpoint_url=d.endpoint, region_name="us-east-1", aws_access_key_id="admin",
                        aws_secret_access_key="admin-secret-0123456", config=Config(retries={"max_attempts": 1}))


def local_records(d, stream="logs"):
    out = []
    client = d.client()
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        out += read_shard(client, stream, shard["ShardId"])
    return out


def test_files_mqtt_and_a_local_app_arrive_remotely_and_stay_readable_locally(tmp_path, moto):
    moto.client().create_stream(StreamName="logs", ShardCount=2)
    broker = Broker(tmp_path).start()
    mqtt = (f'[[sources.mqtt]]\nstream = "logs"\nbroker = "{broker.url}"\nclient_id = "exporter"\n'
            'topics = ["devices/{device}/telemetry"]\npartition_key = "{device}"\nqos = 1\n')
    d, logs = exporter(tmp_path, moto.endpoint, extra=mqtt)
    d.start()
    try:
        wait_until(lambda: any((src.get("connection") or {}).get("state") == "connected" for src in status(d)["sources"]),
                   timeout=30, what="MQTT connected")
        expected = write_lines(logs, files=2, lines=500)
        assert publish(broker.url, "--devices", 5, "--messages", 500)["acknowledged"] == 500
        app = d.client()
        for batch in range(5):
            # As a Kinesis app does: what the shard's limit refused goes again, in order.
            pending = [{"PartitionKey": "app", "Data": f"app-{batch * 100 + n:04d}".encode()} for n in range(100)]
            while pending:
                result = app.put_records(StreamName="logs", Records=pending)["Records"]
                refused = [k for k, entry in enumerate(result) if "ErrorCode" in entry]
                pending = pending[refused[0]:] if refused else []
                if pending:
                    time.sleep(0.2)  # the app's own backoff
        expected["app"] = [f"app-{n:04d}" for n in range(500)]
        total = 1000 + 500 + 500
        wait_until(lambda: len(remote_records(moto.client())) >= total, timeout=90, what="every record exported")
        remote = remote_records(moto.client())
        assert len(remote) == total
        keyed = by_key(remote)
        for key, rows in expected.items():
            assert keyed[key] == rows
        devices = [k for k in keyed if k not in expected]
        assert len(devices) == 5 and sum(len(keyed[k]) for k in devices) == 500
        # Stored locally first, and still there.
        assert len(local_records(d)) == total
        s = export_status(d)
        assert s["deliveredRecords"] == total and s["consumer"]["missedRecords"] == 0
        assert all(shard["recordsBehind"] == 0 for shard in s["consumer"]["shards"])
        text = d.sluice("status", "--endpoint", d.endpoint).stdout
        assert "export to-remote (logs -> kinesis stream logs at" in text and "running" in text
    finally:
        d.stop()
        broker.stop()


def test_the_remote_away_for_a_minute_then_everything_arrives_in_order(tmp_path):
    remote = remote_sluice(tmp_path).start()
    d, logs = exporter(tmp_path, remote.endpoint)
    d.start()
    try:
        expected = write_lines(logs, files=3, lines=500)
        wait_until(lambda: len(remote_records(admin(remote))) >= 1500, timeout=60, what="first records exported")
        remote.stop()
        away = time.time()
        more = write_lines(logs, files=3, lines=500, tag="late-")
        for name in expected:
            expected[name] += more[name]
        # Stored locally while the remote is away; the export reports it is retrying.
        wait_until(lambda: len(local_records(d)) == 3000, timeout=60, what="lines stored locally")
        wait_until(lambda: export_status(d).get("lastError") is not None, timeout=30, what="the export notices")
        assert sum(sh["recordsBehind"] for sh in export_status(d)["consumer"]["shards"]) == 1500
        time.sleep(max(0, 60 - (time.time() - away)))  # the outage lasts a minute, as the issue asks
        remote.start()
        wait_until(lambda: export_status(d)["deliveredRecords"] >= 3000, timeout=120, what="caught up after the outage")
        stored = remote_records(admin(remote))
        duplicates = len(stored) - 3000
        assert duplicates <= export_status(d)["statistics"]["unansweredRecords"], "duplicates only from calls without an answer"
        assert by_key(stored, last_occurrence=True) == expected
        assert export_status(d).get("lastError") is None
    finally:
        d.stop()
        remote.stop()


def test_kill9_during_an_export_five_times_loses_nothing(tmp_path, moto):
    moto.client().create_stream(StreamName="logs", ShardCount=2)
    d, logs = exporter(tmp_path, moto.endpoint, export="batch_max_records = 100\n")
    d.start()
    written = {}
    try:
        rng = random.Random(7)
        for round_ in range(5):
            more = write_lines(logs, files=2, lines=400, tag=f"r{round_}-")
            for name, rows in more.items():
                written.setdefault(name, []).extend(rows)
            time.sleep(rng.uniform(0.2, 1.5))  # a random point in the export, not an event to await
            d.kill9()
            d.start()
        total = sum(len(rows) for rows in written.values())
        wait_until(lambda: export_status(d)["consumer"]["shards"] and
                   all(s["recordsBehind"] == 0 for s in export_status(d)["consumer"]["shards"]) and
                   len(local_records(d)) == total, timeout=120, what="export caught up")
        stored = remote_records(moto.client())
        assert by_key(stored, last_occurrence=True) == written
        # At most one batch (100 records) per local shard (2) per crash (5) repeated.
        assert len(stored) - total <= 100 * 2 * 5
    finally:
        d.stop()


def test_resharding_local_and_remote_mid_export_keeps_each_keys_order(tmp_path):
    # The remote is a second sluiced: moto's MergeShards copies the merged shard's records
    # into its neighbour, so a merged moto stream reads back twice.
    remote_daemon = remote_sluice(tmp_path, shards=2).start()
    d, logs = exporter(tmp_path, remote_daemon.endpoint)
    d.start()
    try:
        expected = write_lines(logs, files=6, lines=300)
        wait_until(lambda: export_status(d)["deliveredRecords"] >= 600, timeout=60, what="export under way")
        local = d.client()
        shards = local.list_shards(StreamName="logs")["Shards"]
        local.split_shard(StreamName="logs", ShardToSplit=shards[0]["ShardId"],
                          NewStartingHashKey=str((int(shards[0]["HashKeyRange"]["StartingHashKey"]) + int(shards[0]["HashKeyRange"]["EndingHashKey"])) // 2))
        more = write_lines(logs, files=6, lines=300, tag="after-split-")
        for name in expected:
            expected[name] += more[name]
        remote = admin(remote_daemon)
        remote_shards = remote.list_shards(StreamName="logs")["Shards"]
        remote.merge_shards(StreamName="logs", ShardToMerge=remote_shards[0]["ShardId"], AdjacentShardToMerge=remote_shards[1]["ShardId"])
        open_local = [s for s in local.list_shards(StreamName="logs")["Shards"] if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
        open_local.sort(key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))
        local.merge_shards(StreamName="logs", ShardToMerge=open_local[0]["ShardId"], AdjacentShardToMerge=open_local[1]["ShardId"])
        more = write_lines(logs, files=6, lines=300, tag="after-merge-")
        for name in expected:
            expected[name] += more[name]
        total = 6 * 900
        wait_until(lambda: export_status(d)["deliveredRecords"] >= total, timeout=120, what="every record exported")
        stored = remote_records(admin(remote_daemon))
        assert len(stored) == total
        assert by_key(stored) == expected
        finished = [s for s in export_status(d)["consumer"]["shards"] if s["finished"]]
        assert len(finished) == 3, "the split parent and the merged pair are finished"
    finally:
        d.stop()
        remote_daemon.stop()


def test_no_remote_shard_gets_more_than_kinesis_limits_in_any_second(tmp_path):
    # The remote enforces nothing, so only the export's own pacing keeps it within limits.
    remote = remote_sluice(tmp_path, "[engine]\nenforce_write_limits = false\n", shards=2).start()
    d, logs = exporter(tmp_path, remote.endpoint, streams='[[streams]]\nname = "logs"\nshards = 4\n',
                       extra="[engine]\nenforce_write_limits = false\n[limits]\nrecords_per_second = 100000\nbytes_per_second = 104857600\n",
                       key="{json.k}", parser="json")
    d.start()
    try:
        # 8,000 records of ~300 bytes offered at once: far more than 2 remote shards take in a second.
        rows = [json.dumps({"k": f"key-{n % 40}", "n": n, "pad": "x" * 250}) for n in range(8000)]
        (logs / "a.log").write_text("".join(r + "\n" for r in rows))
        wait_until(lambda: export_status(d)["deliveredRecords"] >= 8000, timeout=120, what="records exported")
        stored = remote_records(admin(remote))
        assert len(stored) == 8000
        for shard in {r["ShardId"] for r in stored}:
            times = sorted((r["ApproximateArrivalTimestamp"].timestamp(), len(r["Data"]) + len(r["PartitionKey"])) for r in stored if r["ShardId"] == shard)
            start = 0
            window_bytes = 0
            for end, (t, size) in enumerate(times):
                window_bytes += size
                while times[start][0] <= t - 1.0:
                    window_bytes -= times[start][1]
                    start += 1
                assert end - start + 1 <= 1000, f"{shard}: {end - start + 1} records within one second"
                assert window_bytes <= 1 << 20, f"{shard}: {window_bytes} bytes within one second"
    finally:
        d.stop()
        remote.stop()


def test_aggregated_records_deaggregate_with_the_reference_library(tmp_path, moto):
    moto.client().create_stream(StreamName="logs", ShardCount=1)
    d, logs = exporter(tmp_path, moto.endpoint, export="aggregation = true\nremote_shard_records_per_second = 20\n")
    d.start()
    try:
        expected = write_lines(logs, files=2, lines=2000)
        # 4,000 user records at 20 Kinesis records/s: only aggregation gets them through fast.
        wait_until(lambda: export_status(d)["deliveredRecords"] >= 4000, timeout=60, what="aggregated records exported")
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


def test_a_throttling_remote_gets_the_refused_records_again_in_order(tmp_path):
    # The remote takes 200 records/s per shard; the export paces at 1,000, so part of each
    # call is refused and must go again, without reordering a key.
    remote = remote_sluice(tmp_path, "[engine]\nshard_write_records_per_second = 200\n").start()
    d, logs = exporter(tmp_path, remote.endpoint, key="{json.k}", parser="json")
    d.start()
    try:
        rows = [json.dumps({"k": f"key-{n % 30}", "n": n}) for n in range(3000)]
        (logs / "a.log").write_text("".join(r + "\n" for r in rows))
        wait_until(lambda: export_status(d)["deliveredRecords"] >= 3000, timeout=120, what="records exported")
        stored = remote_records(admin(remote))
        s = export_status(d)["statistics"]
        assert len(stored) == 3000 + s["duplicateRecords"]
        assert s["retriedRecords"] > 0, "the remote should have refused part of the calls"
        assert metric(remote, "WriteProvisionedThroughputExceeded") > 0
        for key, texts in by_key(stored, last_occurrence=True).items():
            numbers = [json.loads(t)["n"] for t in texts]
            assert numbers == sorted(numbers) and len(numbers) == 100, key
    finally:
        d.stop()
        remote.stop()


def test_pause_resume_and_rewind_from_the_cli(tmp_path, moto):
    moto.client().create_stream(StreamName="logs", ShardCount=1)
    d, logs = exporter(tmp_path, moto.endpoint)
    d.start()
    try:
        write_lines(logs, files=1, lines=100)
        wait_until(lambda: export_status(d)["deliveredRecords"] >= 100, timeout=60, what="first export")
        out = d.sluice("exports", "pause", "to-remote", "--endpoint", d.endpoint).stdout
        assert "paused" in out
        write_lines(logs, files=1, lines=100, tag="while-paused-")
        wait_until(lambda: len(local_records(d)) == 200, timeout=60, what="lines stored locally")
        assert sum(s["recordsBehind"] for s in export_status(d)["consumer"]["shards"]) == 100
        # Paused stays paused across a restart.
        d.stop()
        d.start()
        assert export_status(d)["consumer"]["paused"] is True
        assert len(remote_records(moto.client())) == 100
        listed = json.loads(d.sluice("exports", "--endpoint", d.endpoint, "--json").stdout.splitlines()[0])
        assert listed["name"] == "to-remote" and listed["consumer"]["paused"] is True
        d.sluice("exports", "resume", "to-remote", "--endpoint", d.endpoint)
        wait_until(lambda: len(remote_records(moto.client())) == 200, timeout=60, what="resumed")
        # Rewound to the start: everything goes again.
        d.sluice("exports", "resume", "to-remote", "--from", "trim-horizon", "--endpoint", d.endpoint)
        wait_until(lambda: len(remote_records(moto.client())) == 400, timeout=60, what="rewound")
        future = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        bad = d.sluice("exports", "resume", "nope", "--endpoint", d.endpoint, check=False)
        assert bad.returncode != 0 and "ResourceNotFoundException" in bad.stderr and "to-remote" in bad.stderr
        assert d.sluice("exports", "resume", "to-remote", "--from", "at-timestamp", "--timestamp", future, "--endpoint", d.endpoint).returncode == 0
    finally:
        d.stop()


def test_export_control_needs_a_key_that_allows_it(tmp_path, moto):
    moto.client().create_stream(StreamName="logs", ShardCount=1)
    keys = tmp_path / "keys.toml"
    keys.write_text(KEYS)
    keys.chmod(0o600)
    d, logs = exporter(tmp_path, moto.endpoint, extra=f'[auth]\ncredentials_file = "{keys}"\n')
    d.start()
    try:
        creds = tmp_path / "cli-credentials"
        creds.write_text("[forwarder]\naws_access_key_id = forwarder\naws_secret_access_key = forwarder-secret-0123\n"
                         "[admin]\naws_access_key_id = admin\naws_secret_access_key = admin-secret-0123456\n")
        unsigned = d.sluice("exports", "pause", "to-remote", "--endpoint", d.endpoint, check=False)
        assert unsigned.returncode != 0 and "MissingAuthenticationToken" in unsigned.stderr
        denied = d.sluice("exports", "pause", "to-remote", "--endpoint", d.endpoint, "--credentials-file", str(creds), "--profile", "forwarder", check=False)
        assert denied.returncode != 0 and "AccessDenied" in denied.stderr and "PauseExport" in denied.stderr
        allowed = d.sluice("exports", "pause", "to-remote", "--endpoint", d.endpoint, "--credentials-file", str(creds), "--profile", "admin")
        assert "paused" in allowed.stdout
    finally:
        d.stop()


@pytest.mark.parametrize("on_full", ["reject", "drop_oldest"])
def test_max_bytes_stored_plus_dropped_equals_written(tmp_path, on_full):
    d = Daemon(tmp_path, '[storage]\nsegment_max_bytes = 1048576\n[engine]\nenforce_write_limits = false\n'
                         f'[[streams]]\nname = "small"\nshards = 1\nmax_bytes = 4194304\non_full = "{on_full}"\n').start()
    try:
        client = d.client()
        accepted = refused = 0
        payload = b"x" * 10_000
        for batch in range(100):  # 10 MB offered to a 4 MiB stream
            result = client.put_records(StreamName="small", Records=[{"PartitionKey": f"k{n}", "Data": payload} for n in range(10)])
            for entry in result["Records"]:
                if "ErrorCode" in entry:
                    assert entry["ErrorCode"] == "ProvisionedThroughputExceededException" and "max_bytes" in entry["ErrorMessage"]
                    refused += 1
                else:
                    accepted += 1
        storage = next(s for s in status(d)["storage"] if s["stream"] == "small")
        assert storage["records"] + storage["droppedRecords"] == accepted
        assert len(local_records(d, "small")) == storage["records"]
        if on_full == "reject":
            assert refused > 0 and storage["rejectedRecords"] == refused and storage["droppedRecords"] == 0
            assert metric(d, "StreamRejectedRecords") == refused
        else:
            assert refused == 0 and storage["droppedRecords"] > 0 and storage["bytes"] <= 4194304
            assert metric(d, "StreamDroppedRecords") == storage["droppedRecords"]
        text = d.sluice("status", "--endpoint", d.endpoint).stdout
        assert f"storage small: {storage['records']} records" in text and f"on_full = {on_full}" in text
    finally:
        d.stop()


def test_an_old_sink_config_runs_as_an_export_with_a_warning(tmp_path, moto):
    moto.client().create_stream(StreamName="logs", ShardCount=1)
    work = tmp_path / "old"
    work.mkdir()
    logs = work / "logs"
    logs.mkdir()
    creds = work / "aws-credentials"
    creds.write_text("[default]\naws_access_key_id = a\naws_secret_access_key = b\n")
    d = Daemon(work, f'[sink]\nkind = "kinesis"\nendpoint = "{moto.endpoint}"\ncredentials_file = "{creds}"\nmax_attempts = 6\n'
                     f'[[sources.file]]\nstream = "logs"\npaths = ["{logs}/*.log"]\npartition_key = "k"\npoll_interval_ms = 100\n')
    d.start()
    try:
        (logs / "a.log").write_text("".join(f"line-{n}\n" for n in range(50)))
        wait_until(lambda: len(remote_records(moto.client())) >= 50, timeout=60, what="exported")
        assert [r["Data"].decode() for r in remote_records(moto.client())] == [f"line-{n}" for n in range(50)]
        log = d.log.read_text()
        assert "[sink] kind = \\\"kinesis\\\" is replaced by [[exports]]" in log or '[sink] kind = "kinesis" is replaced by [[exports]]' in log
        assert 'name = \\"sink-logs\\"' in log or 'name = "sink-logs"' in log
        # Stored locally too (an on-demand stream, as the warning shows).
        assert len(local_records(d)) == 50
    finally:
        d.stop()
