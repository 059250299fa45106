"""sluiced under a (stand-in) systemd: sd_notify, watchdog, reload, stop, journal,
metrics, and the unit file checked by systemd-analyze."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import BIN, ROOT, Daemon, read_stream


class NotifySocket:
    """The datagram socket systemd listens on for sd_notify messages."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []  # (monotonic time, {KEY: value})
        self.cursor = 0     # wait_for consumes messages in order from here

    def poll(self, seconds):
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536).decode()
            except socket.timeout:
                return
            self.messages.append((time.monotonic(), dict(l.split("=", 1) for l in data.splitlines() if "=" in l)))

    def wait_for(self, key, value=None, timeout=30):
        """The next message (after the last one matched) with KEY[=value]."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index in range(self.cursor, len(self.messages)):
                at, message = self.messages[index]
                if key in message and (value is None or message[key] == value):
                    self.cursor = index + 1
                    return at, message
            self.poll(0.1)
        raise AssertionError(f"no {key}={value} within {timeout}s; got {self.messages}")

    def count(self, key, since):
        return sum(1 for at, m in self.messages if at >= since and key in m)


def start_notified(tmp_path, extra_config="", watchdog_usec=None):
    daemon = Daemon(tmp_path, extra_config=extra_config)
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon.env["NOTIFY_SOCKET"] = notify.path
    if watchdog_usec:
        daemon.env["WATCHDOG_USEC"] = str(watchdog_usec)
    daemon.env["SLUICE_HEALTH_FAIL_FILE"] = str(tmp_path / "unhealthy")
    daemon.log_handle = open(daemon.log, "ab")
    daemon.proc = subprocess.Popen([str(BIN / "sluiced"), "--config", str(daemon.config)],
                                   stdout=daemon.log_handle, stderr=subprocess.STDOUT, env=daemon.env)
    return daemon, notify


def test_ready_only_after_the_api_answers_then_watchdog_cadence_and_health(tmp_path):
    daemon, notify = start_notified(tmp_path, watchdog_usec=1_000_000)
    try:
        at, ready = notify.wait_for("READY", "1")
        # The moment READY=1 arrives the API must already answer.
        with urllib.request.urlopen(daemon.endpoint + "/health", timeout=2) as r:
            assert r.status == 200
        assert "healthy" in ready["STATUS"] and "streams" in ready["STATUS"]

        start = time.monotonic()
        notify.poll(3.0)
        pings = notify.count("WATCHDOG", start)
        assert 4 <= pings <= 8, f"pings every 0.5 s expected, got {pings} in 3 s"

        (tmp_path / "unhealthy").touch()
        notify.poll(1.0)  # a ping may already be on its way
        stopped = time.monotonic()
        notify.poll(2.5)
        assert notify.count("WATCHDOG", stopped) == 0, "no pings while a health check fails"
        status = [m["STATUS"] for at, m in notify.messages if at >= stopped and "STATUS" in m]
        assert not status or "UNHEALTHY" in status[-1]

        (tmp_path / "unhealthy").unlink()
        resumed = time.monotonic()
        notify.poll(2.0)
        assert notify.count("WATCHDOG", resumed) >= 2
    finally:
        daemon.proc.kill()
        daemon.proc.wait()


def test_sighup_reloads_and_sigterm_stops_cleanly(tmp_path):
    daemon, notify = start_notified(tmp_path)
    try:
        notify.wait_for("READY", "1")
        kinesis = daemon.client()
        kinesis.create_stream(StreamName="before", ShardCount=1)
        kinesis.put_records(StreamName="before", Records=[{"PartitionKey": "k", "Data": b"x"}] * 50)

        text = daemon.config.read_text()
        daemon.config.write_text(text + '[engine]\nshard_write_records_per_second = 10\n'
                                        '[[streams]]\nname = "added"\nshards = 2\nretention_hours = 36\n')
        reload_at = time.monotonic()
        daemon.proc.send_signal(signal.SIGHUP)
        _, reloading = notify.wait_for("RELOADING", "1")
        assert int(reloading["MONOTONIC_USEC"]) > 0
        ready_at, _ = notify.wait_for("READY", "1")
        assert ready_at >= reload_at

        summary = kinesis.describe_stream_summary(StreamName="added")["StreamDescriptionSummary"]
        assert summary["OpenShardCount"] == 2 and summary["RetentionPeriodHours"] == 36
        result = kinesis.put_records(StreamName="before", Records=[{"PartitionKey": "k", "Data": b"y"}] * 30)
        assert result["FailedRecordCount"] == 20, "the reloaded limit of 10 records/s applies"

        # A broken config is refused and the running one kept.
        daemon.config.write_text(text + "bogus_key = 1\n")
        daemon.proc.send_signal(signal.SIGHUP)
        notify.wait_for("RELOADING", "1")
        notify.wait_for("READY", "1")
        assert "reload refused" in daemon.log.read_text()
        assert kinesis.list_streams()["StreamNames"] == ["added", "before"]

        stop_at = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        notify.wait_for("STOPPING", "1")
        assert daemon.proc.wait(timeout=60) == 0
        assert time.monotonic() - stop_at < 30
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
    daemon.config.write_text(text)
    daemon.start()
    assert len(read_stream(daemon.client(), "before")["shardId-000000000000"]) == 60
    daemon.stop()


def test_logs_go_to_the_journal_with_structured_fields(tmp_path):
    journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    journal.bind(str(tmp_path / "journal.sock"))
    journal.settimeout(30)
    daemon = Daemon(tmp_path)
    daemon.env["JOURNAL_STREAM"] = "8:12345"
    daemon.env["SLUICE_JOURNAL_SOCKET"] = str(tmp_path / "journal.sock")
    daemon.start()
    try:
        entries = []
        while not any("listening" in e.get("MESSAGE", "") and "ADDRESS" in e for e in entries):
            data = journal.recv(65536)
            entries.append(dict(l.split(b"=", 1) for l in data.split(b"\n") if b"=" in l))
            entries[-1] = {k.decode(): v.decode() for k, v in entries[-1].items()}
        listening = [e for e in entries if "ADDRESS" in e][0]
        assert listening["ADDRESS"] == f"127.0.0.1:{daemon.port}"
        assert listening["PRIORITY"] == "6" and listening["SYSLOG_IDENTIFIER"] == "sluiced"
        assert listening["CODE_FILE"].endswith(".swift") and listening["CODE_LINE"].isdigit()
        assert "starting" in " ".join(e.get("MESSAGE", "") for e in entries)
        assert daemon.log.read_text().strip() == "", "nothing on stderr when logging to the journal"
    finally:
        daemon.stop()


def metric(families, name, **labels):
    for family in families:
        for sample in family.samples:
            if sample.name in (name, name + "_total") and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0


def scrape(daemon):
    with urllib.request.urlopen(daemon.endpoint + "/metrics", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain")
        return list(text_string_to_metric_families(r.read().decode()))


def test_metrics_are_prometheus_text_and_move_with_traffic(daemon):
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="m", ShardCount=1)
    shard = {"stream": "m", "shard": "shardId-000000000000"}
    before = scrape(daemon)
    kinesis.put_records(StreamName="m", Records=[{"PartitionKey": "k", "Data": b"0123456789"}] * 400)
    kinesis.put_record(StreamName="m", PartitionKey="k", Data=b"one")
    for _ in range(2):
        kinesis.put_records(StreamName="m", Records=[{"PartitionKey": "k", "Data": b"z"}] * 400)
    records = read_stream(kinesis, "m")["shardId-000000000000"]
    after = scrape(daemon)
    assert metric(after, "IncomingRecords", **shard) - metric(before, "IncomingRecords", **shard) == len(records)
    assert metric(after, "IncomingBytes", **shard) >= 400 * 11
    assert metric(after, "WriteProvisionedThroughputExceeded", **shard) == 1201 - len(records)
    assert metric(after, "PutRecord_Success", stream="m") == 1
    assert metric(after, "PutRecords_FailedRecords", stream="m") == 1201 - len(records)
    assert metric(after, "GetRecords_Records", **shard) >= len(records)
    assert "GetRecords_IteratorAgeMilliseconds" in {f.name for f in after}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_unit_file_verifies_clean_and_is_hardened(tmp_path):
    unit = tmp_path / "sluiced.service"
    unit.write_text((ROOT / "systemd" / "sluiced.service").read_text().replace("/usr/local/bin/sluiced", str(BIN / "sluiced")))
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    # systemd-analyze exits 0 on bad values and only warns: any output is a failure.
    assert verify.returncode == 0 and verify.stderr.strip() == "" and verify.stdout.strip() == "", verify.stderr
    security = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)], capture_output=True, text=True)
    level = float(re.search(r"Overall exposure level for .*: ([0-9.]+)", security.stdout).group(1))
    assert level <= 2.0, security.stdout


def test_the_installed_config_is_accepted_with_its_key_as_a_credential(tmp_path):
    """install.sh writes scripts/installed-config.sh's output: encryption on, the key as
    the credential master.key. sluiced must accept it (it once uncommented the MQTT
    example's key_file too and was refused)."""
    config = subprocess.run([str(ROOT / "scripts" / "installed-config.sh")], capture_output=True, text=True, check=True).stdout
    assert '\n[encryption]\nkey_file = "master.key"\n' in config
    config = re.sub(r'(?m)^data_dir = .*$', f'data_dir = "{tmp_path}/data"', config)
    (tmp_path / "sluice.toml").write_text(config)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    subprocess.run([str(BIN / "sluice"), "keys", "init", "--key-file", str(credentials / "master.key")], check=True, capture_output=True)
    checked = subprocess.run([str(BIN / "sluiced"), "--config", str(tmp_path / "sluice.toml"), "--check-config"],
                             capture_output=True, text=True, env=dict(os.environ, CREDENTIALS_DIRECTORY=str(credentials)))
    assert checked.returncode == 0, checked.stderr


def test_a_refused_config_exits_with_the_status_the_unit_does_not_restart(tmp_path):
    (tmp_path / "bad.toml").write_text('data_dir = "/tmp/x"\n[limits]\non_full = "wait"\n')
    refused = subprocess.run([str(BIN / "sluiced"), "--config", str(tmp_path / "bad.toml")], capture_output=True, text=True)
    unit = (ROOT / "systemd" / "sluiced.service").read_text()
    status = int(re.search(r"(?m)^RestartPreventExitStatus=(\d+)$", unit).group(1))
    assert refused.returncode == status == 78, refused.stderr
    assert "on_full" in refused.stderr
    assert re.search(r"(?m)^StartLimitBurst=\d+$", unit) and re.search(r"(?m)^StartLimitIntervalSec=", unit)
    assert re.search(r"(?m)^SystemCallFilter=.*\bsetpriority\b", unit), "Dispatch's setpriority must be allowed"
    assert re.search(r"(?m)^LimitNOFILE=\d+$", unit)


def test_an_unprivileged_daemon_logs_no_failed_thread_priority():
    """Dispatch asks for nice -4 for its event thread, which a service may not take: the
    daemon's setpriority clamps the request to what RLIMIT_NICE allows instead of failing,
    so the journal no longer gets "Failed to set thread priority … errno=13" at every
    start. Run as `nobody` with Dispatch's log on stderr, where the line would appear."""
    import tempfile
    workdir = Path(tempfile.mkdtemp(prefix="sluice-unprivileged-"))
    try:
        os.chmod(workdir, 0o777)
        daemon = Daemon(workdir)
        os.chmod(daemon.config, 0o644)
        daemon.env["LIBDISPATCH_LOG"] = "stderr"
        daemon.command_prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        daemon.start()
        uid = next(l for l in Path(f"/proc/{daemon.proc.pid}/status").read_text().splitlines() if l.startswith("Uid:"))
        assert uid.split()[1] == "65534", uid
        client = daemon.client()
        client.create_stream(StreamName="s", ShardCount=2)
        client.put_records(StreamName="s", Records=[{"Data": b"r%d" % k, "PartitionKey": str(k)} for k in range(100)])
        assert sum(len(records) for records in read_stream(client, "s").values()) == 100
        daemon.stop()
        log = daemon.log.read_text()
        assert "Failed to set thread priority" not in log, log[-2000:]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
