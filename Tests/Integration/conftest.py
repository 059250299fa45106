"""Fixtures that run the real sluiced binary on loopback for the integration tests.

The binaries come from SLUICE_BIN (default: the debug build in .build/debug). Each test
gets its own data directory, config file and free port; `Daemon.kill9()` and
`Daemon.start()` simulate crashes and restarts.
"""
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SLUICE_BIN", ROOT / ".build" / "debug"))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def md5_hash_key(partition_key):
    return int(hashlib.md5(partition_key.encode()).hexdigest(), 16)


class Daemon:
    """One sluiced process with its own config, data directory and port."""

    def __init__(self, workdir, extra_config="", scheme="http"):
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "data"
        self.port = free_port()
        self.endpoint = f"{scheme}://127.0.0.1:{self.port}"
        self.config = self.workdir / "sluice.toml"
        self.config.write_text(
            f'data_dir = "{self.data_dir}"\n'
            f'[api]\nlisten = "127.0.0.1:{self.port}"\n' + extra_config
        )
        self.log = self.workdir / "sluiced.log"
        self.proc = None
        self.env = dict(os.environ)
        # Prepended to the sluiced command line (e.g. setpriv to drop capabilities).
        self.command_prefix = []

    def start(self, timeout=30):
        self.log_handle = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [*self.command_prefix, str(BIN / "sluiced"), "--config", str(self.config)],
            stdout=self.log_handle, stderr=subprocess.STDOUT, env=self.env,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluiced exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                # Only probing that it answers: certificates are the TLS test's business.
                with urllib.request.urlopen(self.endpoint + "/health", timeout=1, context=ssl._create_unverified_context()) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sluiced did not answer within {timeout}s:\n{self.log.read_text()}")

    def start_failing(self, timeout=30):
        """Starts sluiced expecting it to refuse; returns (exit code, its output)."""
        result = subprocess.run([str(BIN / "sluiced"), "--config", str(self.config)], capture_output=True,
                                text=True, timeout=timeout, env=self.env)
        assert result.returncode != 0, f"sluiced should have refused to start:\n{result.stderr}"
        return result.returncode, result.stderr

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            code = self.proc.wait(timeout=60)
            assert code == 0, f"sluiced exited with {code} on SIGTERM:\n{self.log.read_text()}"

    def client(self, **config):
        return boto3.client(
            "kinesis", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}, **config),
        )

    def aws(self, *args, check=True):
        """Runs the aws cli against this daemon; returns parsed JSON output (or None)."""
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                   AWS_DEFAULT_REGION="us-east-1", AWS_MAX_ATTEMPTS="1")
        result = subprocess.run(["aws", "--endpoint-url", self.endpoint, "kinesis", *args],
                                capture_output=True, text=True, env=env, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed: {result.stderr}")
        if check:
            return json.loads(result.stdout) if result.stdout.strip() else None
        return result

    def sluice(self, *args, input=None, check=True):
        result = subprocess.run([str(BIN / "sluice"), *args], capture_output=True, text=True,
                                input=input, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"sluice {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path).start()
    yield d
    if d.proc.poll() is None:
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()


def status(d):
    """sluiced's GET /status (the gateway's figures)."""
    with urllib.request.urlopen(d.endpoint + "/status", timeout=5) as r:
        return json.loads(r.read())


def wait_until(predicate, timeout=120, interval=0.2, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def get_records(client, iterator, limit=1000):
    """GetRecords, backing off when the shard's read limit (5 calls/s) says so, as real
    consumers do."""
    for _ in range(50):
        try:
            return client.get_records(ShardIterator=iterator, Limit=limit)
        except client.exceptions.ProvisionedThroughputExceededException:
            time.sleep(0.2)
    raise AssertionError("GetRecords throttled for 10 s")


def read_shard(client, stream, shard_id, iterator_type="TRIM_HORIZON", **kwargs):
    """Every record of one shard from the given start, following NextShardIterator."""
    it = client.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType=iterator_type, **kwargs)["ShardIterator"]
    records = []
    while it:
        page = get_records(client, it)
        records += page["Records"]
        if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
            break
        it = page.get("NextShardIterator")
    return records


def read_stream(client, stream):
    out = {}
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        out[shard["ShardId"]] = read_shard(client, stream, shard["ShardId"])
    return out
