"""The MQTT source end to end: a real mosquitto broker on 127.0.0.1 started by the test,
the real sluiced, and `sluice-bench mqtt-publish` (libmosquitto) as the device fleet.

What "nothing lost" means here: every message the broker acknowledged to the publisher
(PUBACK) is in the stream afterwards, whatever was restarted or killed in between.
Redelivery after a crash or reconnect may add duplicates (at-least-once), which the
tests count and allow, and each device's messages keep their order.
"""
import getpass
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, Daemon, free_port, md5_hash_key, read_stream, status, wait_until

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Broker:
    """A mosquitto broker on 127.0.0.1 with its config, persistence and log in `workdir`."""

    def __init__(self, workdir, persistence=True, extra=""):
        self.dir = Path(workdir) / "broker"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.log = self.dir / "mosquitto.log"
        listener = extra or f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
        (self.dir / "mosquitto.conf").write_text(
            listener +
            # The README's broker settings: no bound on what a persistent session queues.
            "max_queued_messages 0\n"
            f"persistence {'true' if persistence else 'false'}\n"
            f"persistence_location {self.dir}/\n"
            f"log_dest file {self.log}\n"
            # Started as root, mosquitto would switch to its own user and could not read
            # the test's files.
            f"user {getpass.getuser()}\n"
        )
        self.proc = None

    def start(self):
        config = self.dir / "mosquitto.conf"
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The event: every listener accepts connections (or mosquitto exited).
        ports = [int(p) for p in re.findall(r"^listener (\d+)", config.read_text(), re.M)]
        wait_until(lambda: self.proc.poll() is not None or all(accepts(port) for port in ports), timeout=30, what="mosquitto listening")
        assert self.proc.poll() is None, f"mosquitto did not start: {self.log.read_text() if self.log.exists() else ''}"
        return self

    def stop(self):
        """SIGTERM: mosquitto saves its persistence database (sessions, queued messages)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


def accepts(port):
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path).start()
    yield b
    b.stop()


def publish(broker_url, *args, background=False):
    """`sluice-bench mqtt-publish` against the broker; returns its JSON summary (or the
    process when `background`)."""
    command = [str(BIN / "sluice-bench"), "mqtt-publish", "--broker", broker_url, *map(str, args)]
    if background:
        return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def finish(proc):
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    return json.loads(out)


def mqtt_daemon(tmp_path, broker, *, shards=4, source="", limits="", streams="", key="{device}"):
    config = (
        f'[[streams]]\nname = "telemetry"\nshards = {shards}\n{streams}\n{limits}\n'
        f'[[sources.mqtt]]\nstream = "telemetry"\nbroker = "{broker.url}"\nclient_id = "sluice-test"\n'
        f'topics = ["devices/{{device}}/telemetry"]\npartition_key = "{key}"\nqos = 1\n'
        f'reconnect_min_ms = 100\nreconnect_max_ms = 1000\n{source}\n'
    )
    return Daemon(tmp_path, config)


def drained(d):
    return all(sh["spoolRecords"] == 0 for st in status(d)["streams"] for sh in st["shards"])


def source_status(d, index=0):
    return status(d)["sources"][index]


def connected(d):
    return (source_status(d).get("connection") or {}).get("state") == "connected"


def subscribed(d):
    """Connected, and the broker acknowledged the subscriptions: what is published from now
    on is delivered."""
    connection = source_status(d).get("connection") or {}
    return connection.get("state") == "connected" and connection.get("subscribed") is True


def messages_by_device(d, stream="telemetry"):
    """{device: [(seq, shard id)]} in stream order, and the hash range of every shard."""
    client = d.client()
    shards = {s["ShardId"]: s["HashKeyRange"] for s in client.list_shards(StreamName=stream)["Shards"]}
    seen = {}
    for shard_id, records in read_stream(client, stream).items():
        for r in records:
            body = json.loads(r["Data"])
            seen.setdefault(body["device"], []).append((body["seq"], shard_id, r["PartitionKey"]))
    return seen, shards


def acked_set(path):
    return {(line.split()[0], int(line.split()[1])) for line in Path(path).read_text().splitlines()}


def check_delivery(d, acked, *, allow_duplicates):
    """Every acknowledged message stored; each device's messages in order and in the one
    shard its key maps to. Returns the number of duplicates."""
    seen, shards = messages_by_device(d)
    stored = {(device, seq) for device, items in seen.items() for seq, _, _ in items}
    missing = acked - stored
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:5]}"
    duplicates = 0
    for device, items in seen.items():
        shard_ids = {shard for _, shard, _ in items}
        assert len(shard_ids) == 1, f"{device} spread over shards {shard_ids}"
        shard = shard_ids.pop()
        hash_key = md5_hash_key(items[0][2])
        low, high = int(shards[shard]["StartingHashKey"]), int(shards[shard]["EndingHashKey"])
        assert low <= hash_key <= high, f"{device} stored in {shard}, which does not own its key"
        # Order: each first delivery comes after the previous one; redeliveries repeat a
        # run of earlier messages (at-least-once).
        firsts, seen_seqs = [], set()
        for seq, _, _ in items:
            if seq in seen_seqs:
                duplicates += 1
            else:
                firsts.append(seq)
                seen_seqs.add(seq)
        assert firsts == sorted(firsts), f"{device} out of order: {firsts[:20]}"
    if not allow_duplicates:
        assert duplicates == 0
    return duplicates


def test_200_devices_20000_qos1_messages_in_order_in_their_shards(tmp_path, broker):
    d = mqtt_daemon(tmp_path, broker).start()
    try:
        wait_until(lambda: connected(d), timeout=30, what="MQTT connected")
        summary = publish(broker.url, "--devices", 200, "--messages", 20000, "--acked-file", tmp_path / "acked")
        assert summary["acknowledged"] == 20000
        # Kinesis' 1,000 records/s per shard: the 4 shards take 20,000 in 5 s or more.
        wait_until(lambda: source_status(d)["records"] >= 20000, timeout=120, what="all messages stored")
        wait_until(lambda: drained(d), timeout=120, what="spool drained")
        check_delivery(d, acked_set(tmp_path / "acked"), allow_duplicates=False)
        s = source_status(d)
        assert s["kind"] == "mqtt" and s["records"] == 20000 and s["keyFallbacks"] == 0
        assert s["connection"]["inFlightMessages"] <= 5000
        metrics = __import__("urllib.request").request.urlopen(d.endpoint + "/metrics").read().decode()
        assert 'MQTTConnected{source="' in metrics and "SourceRecords" in metrics
    finally:
        d.stop()


def test_broker_restart_mid_stream_loses_nothing_acknowledged(tmp_path, broker):
    d = mqtt_daemon(tmp_path, broker).start()
    try:
        wait_until(lambda: connected(d), timeout=30, what="MQTT connected")
        publisher = publish(broker.url, "--devices", 50, "--messages", 10000, "--rate", 2500, "--client-id", "fleet",
                            "--acked-file", tmp_path / "acked", background=True)
        wait_until(lambda: source_status(d)["records"] > 2000, timeout=30, what="stream under way")
        broker.stop()
        wait_until(lambda: not connected(d), timeout=30, what="sluiced to notice the broker is gone")
        broker.start()
        summary = finish(publisher)
        assert summary["connects"] >= 2, "the publisher should have reconnected"
        acked = acked_set(tmp_path / "acked")
        assert len(acked) == summary["acknowledged"] > 5000
        wait_until(lambda: source_status(d)["records"] >= len(acked), timeout=120, what="acknowledged messages stored")
        wait_until(lambda: drained(d), timeout=120, what="spool drained")
        check_delivery(d, acked, allow_duplicates=True)
        connection = source_status(d)["connection"]
        assert connection["connects"] >= 2 and connection["sessionPresent"] is True
    finally:
        d.stop()


def test_kill9_mid_stream_loses_nothing_acknowledged(tmp_path, broker):
    d = mqtt_daemon(tmp_path, broker).start()
    try:
        wait_until(lambda: connected(d), timeout=30, what="MQTT connected")
        publisher = publish(broker.url, "--devices", 50, "--messages", 10000, "--rate", 2500,
                            "--acked-file", tmp_path / "acked", background=True)
        wait_until(lambda: source_status(d)["records"] > 2000, timeout=30, what="stream under way")
        d.kill9()
        d.start()
        summary = finish(publisher)
        acked = acked_set(tmp_path / "acked")
        assert len(acked) == summary["acknowledged"] == 10000
        # Counted since the restart: the messages the broker kept for the session.
        wait_until(lambda: sum(len(v) for v in messages_by_device(d)[0].values()) >= 10000, timeout=120, what="all messages stored")
        duplicates = check_delivery(d, acked, allow_duplicates=True)
        # Redelivered at most what was received and not yet acknowledged when killed.
        assert duplicates <= 5000
        assert source_status(d)["connection"]["sessionPresent"] is True
    finally:
        d.stop()


def test_broker_restart_without_persistence_resubscribes(tmp_path):
    broker = Broker(tmp_path, persistence=False).start()
    d = mqtt_daemon(tmp_path, broker).start()
    try:
        wait_until(lambda: connected(d), timeout=30, what="MQTT connected")
        publish(broker.url, "--devices", 5, "--messages", 100)
        wait_until(lambda: source_status(d)["records"] >= 100, timeout=30, what="first messages")
        broker.stop()
        broker.start()  # the broker forgot our session and its subscription
        wait_until(lambda: source_status(d)["connection"]["connects"] >= 2 and connected(d), timeout=30, what="reconnect")
        assert source_status(d)["connection"]["sessionPresent"] is False
        wait_until(lambda: subscribed(d), timeout=30, what="subscriptions acknowledged again")
        publish(broker.url, "--devices", 5, "--messages", 100)
        wait_until(lambda: source_status(d)["records"] >= 200, timeout=30, what="messages after the broker restart")
        out = d.sluice("status", "--endpoint", d.endpoint).stdout
        assert "(mqtt -> telemetry): 200 records" in out and "connected, 2 connects, session present false" in out
    finally:
        d.stop()
        broker.stop()


def test_malformed_payloads_are_counted_and_never_stall_the_source(tmp_path, broker):
    source = (
        'parser = "json"\nparse_error_stream = "errors"\n'
        'on_oversize = "drop"\nname = "strict"\n'
        '[[sources.mqtt]]\nstream = "telemetry"\nname = "lenient"\nbroker = "' + broker.url + '"\n'
        'client_id = "sluice-test-2"\ntopics = ["lenient/{device}"]\npartition_key = "{device}"\n'
    )
    d = mqtt_daemon(tmp_path, broker, source=source, streams='[[streams]]\nname = "errors"\nshards = 1\n', key="{json.device}")
    d.start()
    try:
        wait_until(lambda: all((s.get("connection") or {}).get("state") == "connected" for s in status(d)["sources"]), timeout=30, what="connected")
        publish(broker.url, "--devices", 3, "--messages", 3, "--payload", "not json at all")
        publish(broker.url, "--devices", 2, "--messages", 2, "--payload", '{"other": 1}')
        publish(broker.url, "--devices", 1, "--messages", 1, "--payload-bytes", 1_600_000)
        publish(broker.url, "--topic", "lenient/{device}", "--devices", 1, "--messages", 1, "--payload-bytes", 1_600_000)
        publish(broker.url, "--devices", 10, "--messages", 10)
        strict = lambda: next(s for s in status(d)["sources"] if s["name"] == "strict")
        lenient = lambda: next(s for s in status(d)["sources"] if s["name"] == "lenient")
        wait_until(lambda: strict()["records"] >= 16 and lenient()["records"] >= 1 and drained(d), timeout=30, what="every message handled")
        s = strict()
        assert s["parseErrors"] == 3
        assert s["dropped"] == 1
        assert s["keyFallbacks"] == 5  # 3 not JSON + 2 without the field
        assert lenient()["truncated"] == 1
        client = d.client()
        errors = [r for rs in read_stream(client, "errors").values() for r in rs]
        assert len(errors) == 3
        assert all(json.loads(r["Data"])["parse_error"] and json.loads(r["Data"])["message"] == "not json at all" for r in errors)
        records = [r for rs in read_stream(client, "telemetry").values() for r in rs]
        keys = [r["PartitionKey"] for r in records]
        assert keys.count("unknown") == 2
        assert sum(k.startswith("dev-") for k in keys) == 10 + 1  # the valid ten, and the truncated one
        cut = next(r for r in records if len(r["Data"]) > 1_000_000)
        assert len(cut["Data"]) + len(cut["PartitionKey"]) <= 1_048_576 and cut["Data"].endswith(b"...[truncated]")
        assert d.proc.poll() is None
        assert "oversize" in d.log.read_text()
    finally:
        d.stop()


def test_full_spool_under_block_stops_reading_and_the_broker_holds_the_messages(tmp_path, broker):
    limits = '[limits]\nrecords_per_second = 400\nspool_max_bytes = 1048576\non_full = "block"\n'
    d = mqtt_daemon(tmp_path, broker, shards=1, limits=limits, source="max_in_flight_messages = 100\n")
    d.start()
    try:
        wait_until(lambda: connected(d), timeout=30, what="MQTT connected")
        summary = publish(broker.url, "--devices", 20, "--messages", 4000, "--payload-bytes", 1000, "--acked-file", tmp_path / "acked")
        assert summary["acknowledged"] == 4000  # the broker took them all, whatever sluiced did
        peak_in_flight, peak_spool, behind = 0, 0, False
        deadline = time.time() + 120
        while time.time() < deadline:
            s = status(d)
            src = s["sources"][0]
            peak_in_flight = max(peak_in_flight, src["connection"]["inFlightMessages"])
            peak_spool = max(peak_spool, s["spool"]["usedBytes"])
            behind = behind or src["records"] < 3000
            if src["records"] >= 4000 and s["streams"][0]["shards"][0]["spoolRecords"] == 0:
                break
            time.sleep(0.1)
        assert behind, "the source should have waited for spool room"
        assert peak_in_flight <= 100
        assert peak_spool <= 1048576 + 1048576  # the bound plus one segment
        check_delivery(d, acked_set(tmp_path / "acked"), allow_duplicates=True)
    finally:
        d.stop()


def test_device_map_file_is_reloaded_while_running(tmp_path, broker):
    mapping = tmp_path / "devices.map"
    mapping.write_text("dev-0000 site-a\n")
    d = mqtt_daemon(tmp_path, broker, shards=1, source=f'device_map_file = "{mapping}"\n').start()
    try:
        wait_until(lambda: connected(d), timeout=30, what="MQTT connected")
        publish(broker.url, "--devices", 2, "--messages", 2)
        wait_until(lambda: source_status(d)["records"] >= 2, timeout=30, what="stored")
        (tmp_path / "next.map").write_text("dev-0000 site-b\ndev-0001 site-c\n")
        os.rename(tmp_path / "next.map", mapping)
        # The source looks at the file with its batches (at most once a second): probe
        # messages from a device the map does not list carry batches until it reloads.
        probes = 0
        while "device map reloaded" not in d.log.read_text():
            assert probes < 100, "the device map was not reloaded"
            publish(broker.url, "--topic", "devices/probe-{device}/telemetry", "--devices", 1, "--messages", 1)
            probes += 1
            wait_until(lambda: source_status(d)["records"] >= 2 + probes, timeout=30, what="probe stored")
        publish(broker.url, "--devices", 2, "--messages", 2)
        wait_until(lambda: source_status(d)["records"] >= 4 + probes, timeout=30, what="stored")
        records = [r for rs in read_stream(d.client(), "telemetry").values() for r in rs]
        assert [r["PartitionKey"] for r in records if not r["PartitionKey"].startswith("probe-")] == ["site-a", "dev-0001", "site-b", "site-c"]
        assert "device map reloaded" in d.log.read_text()
    finally:
        d.stop()


def test_config_refusals_name_the_setting(tmp_path):
    cases = [
        ('broker = "127.0.0.1:1883"\ntopics = ["a"]\n', "broker"),
        ('broker = "mqtt://127.0.0.1"\ntopics = ["a/#/b"]\n', "'#' must be the last level"),
        ('broker = "mqtt://127.0.0.1"\ntopics = ["a/{dev}"]\npartition_key = "{device}"\n', "unknown placeholder {device}"),
        ('broker = "mqtt://127.0.0.1"\ntopics = ["a"]\npartition_key = "{json.id}"\n', 'set parser = "json"'),
        ('broker = "mqtt://127.0.0.1"\ntopics = ["a"]\nca_file = "/etc/ca.pem"\n', "mqtts://"),
        ('broker = "mqtt://127.0.0.1"\ntopics = ["a"]\npassword = "x"\n', "username"),
        ('broker = "mqtt://127.0.0.1"\ntopics = ["a"]\nqos = 3\n', "qos"),
        ('broker = "mqtt://127.0.0.1"\ntopics = ["a"]\ndevice_map_file = "/nonexistent/map"\n', "/nonexistent/map"),
        ('broker = "mqtts://127.0.0.1"\ntopics = ["a"]\nca_file = "/nonexistent/ca.pem"\n', "/nonexistent/ca.pem"),
    ]
    for n, (body, expected) in enumerate(cases):
        work = tmp_path / f"case{n}"
        work.mkdir()
        d = Daemon(work, f'[[streams]]\nname = "t"\nshards = 1\n[[sources.mqtt]]\nstream = "t"\n{body}')
        code, err = d.start_failing()
        assert expected in err and "[[sources.mqtt]] #1" in err, (body, err)


def make_certificates(directory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, with openssl."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=sluice-test-ca")
    for name, extra in [("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")]:
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        (Path(directory) / f"{name}.ext").write_text(extra + "\n")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")


def test_tls_with_client_certificate_and_password(tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    make_certificates(certs)
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(certs / "passwd"), "edge", "s3cret-pw"], check=True)
    tls_port, plain_port = free_port(), free_port()
    listeners = (
        "per_listener_settings true\n"
        f"listener {tls_port} 127.0.0.1\ncafile {certs}/ca.pem\ncertfile {certs}/server.pem\nkeyfile {certs}/server.key\n"
        f"require_certificate true\npassword_file {certs}/passwd\nallow_anonymous false\n"
        f"listener {plain_port} 127.0.0.1\nallow_anonymous true\n"
    )
    broker = Broker(tmp_path, extra=listeners).start()
    (tmp_path / "pw").write_text("s3cret-pw\n")
    tls = (f'broker = "mqtts://127.0.0.1:{tls_port}"\nca_file = "{certs}/ca.pem"\ncert_file = "{certs}/client.pem"\n'
           f'key_file = "{certs}/client.key"\nusername = "edge"\n')
    config = (f'[[streams]]\nname = "telemetry"\nshards = 1\n[[sources.mqtt]]\nstream = "telemetry"\nclient_id = "tls"\n'
              f'topics = ["devices/{{device}}/telemetry"]\npartition_key = "{{device}}"\nreconnect_max_ms = 1000\n')
    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    good = Daemon(tmp_path / "good", config + tls + f'password_file = "{tmp_path}/pw"\n')
    bad = Daemon(tmp_path / "bad", config.replace('"tls"', '"tls-bad"') + tls + 'password = "wrong"\n')
    good.start()
    bad.start()
    try:
        wait_until(lambda: connected(good), timeout=30, what="TLS connection")
        publish(f"mqtt://127.0.0.1:{plain_port}", "--devices", 3, "--messages", 30)
        wait_until(lambda: source_status(good)["records"] >= 30, timeout=30, what="messages over TLS")
        wait_until(lambda: "check username and password" in (source_status(bad)["connection"].get("lastError") or ""), timeout=30, what="refusal reported")
        assert bad.proc.poll() is None and source_status(bad)["records"] == 0
        log = bad.log.read_text()
        assert "check username and password" in log and "wrong" not in log and "s3cret" not in good.log.read_text()
    finally:
        good.stop()
        bad.stop()
        broker.stop()


def test_filters_dropped_from_the_config_are_unsubscribed(tmp_path, broker):
    d = mqtt_daemon(tmp_path, broker, shards=1).start()
    wait_until(lambda: connected(d), timeout=30, what="MQTT connected")
    d.stop()
    # Same client id (same persistent session), other topics.
    d.config.write_text(d.config.read_text().replace('topics = ["devices/{device}/telemetry"]', 'topics = ["other/{device}"]'))
    d.start()
    try:
        wait_until(lambda: subscribed(d), timeout=30, what="MQTT subscribed again")
        # Published first, so a delivery of the dropped filter would come before the 20.
        publish(broker.url, "--devices", 3, "--messages", 30)
        publish(broker.url, "--topic", "other/{device}", "--devices", 3, "--messages", 20)
        wait_until(lambda: source_status(d)["records"] >= 20, timeout=30, what="messages on the new filter")
        assert source_status(d)["records"] == 20, "the dropped filter still delivers"
        assert "unsubscribing filters no longer in the config" in d.log.read_text()
    finally:
        d.stop()
