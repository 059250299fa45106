"""Encryption at rest with the real sluiced: no clear record byte on disk or in logs,
key-file problems refused at start, rotation without data loss."""
import os
import shutil
import signal
import subprocess
import time

from conftest import BIN, Daemon, read_stream

MARKER = b"MARKER-c0ffee-42"


def sluice(*args, check=True):
    result = subprocess.run([str(BIN / "sluice"), *args], capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, f"sluice {' '.join(args)}: {result.stderr}"
    return result


def encrypted_daemon(tmp_path, key_file=None):
    key_file = key_file or tmp_path / "master.key"
    if not key_file.exists():
        sluice("keys", "init", "--key-file", str(key_file))
    return Daemon(tmp_path, extra_config=f'[encryption]\nkey_file = "{key_file}"\n'), key_file


def all_bytes(path):
    for root, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                yield os.path.join(root, name), f.read()


def put_marked(kinesis, stream, count):
    kinesis.put_records(StreamName=stream, Records=[
        {"PartitionKey": f"{MARKER.decode()}-{n % 5}", "Data": MARKER + f" reading {n}".encode()} for n in range(count)])
    for n in range(count):
        kinesis.put_record(StreamName=stream, PartitionKey=MARKER.decode(), Data=MARKER + f" single {n}".encode())


def test_no_plaintext_record_byte_on_disk_or_in_logs(tmp_path):
    daemon, key_file = encrypted_daemon(tmp_path)
    daemon.start()
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="secret", ShardCount=2)
    summary = kinesis.describe_stream_summary(StreamName="secret")["StreamDescriptionSummary"]
    assert summary["EncryptionType"] == "KMS" and summary["KeyId"] == "sluice-master"
    put_marked(kinesis, "secret", 200)
    daemon.stop()
    daemon.start()  # recovery reads and authenticates every frame
    stored = [r for shard in read_stream(daemon.client(), "secret").values() for r in shard]
    assert len(stored) == 400 and all(r["Data"].startswith(MARKER) for r in stored)
    daemon.stop()

    scanned = 0
    for path, data in all_bytes(daemon.data_dir):
        scanned += len(data)
        assert MARKER not in data and b"reading" not in data, f"clear record bytes in {path}"
    assert scanned > 400 * len(MARKER)
    log = daemon.log.read_bytes()
    assert MARKER not in log
    secret = [l for l in key_file.read_text().splitlines() if '"secret"' in l][0].split('"')[3]
    assert secret.encode() not in log
    assert sluice("verify", "--key-file", str(key_file), str(daemon.data_dir)).stdout.strip().endswith("OK")


def test_key_file_problems_refuse_to_start_and_say_why(tmp_path):
    daemon, key_file = encrypted_daemon(tmp_path)
    daemon.start()
    daemon.client().create_stream(StreamName="s", ShardCount=1)
    put_marked(daemon.client(), "s", 20)
    daemon.stop()

    os.chmod(key_file, 0o644)
    _, err = daemon.start_failing()
    assert str(key_file) in err and "mode 644" in err and f"chmod 600 {key_file}" in err
    os.chmod(key_file, 0o600)

    saved = tmp_path / "saved.key"
    shutil.move(key_file, saved)
    _, err = daemon.start_failing()
    assert str(key_file) in err and "does not exist" in err

    key_file.write_text("{ not a key file")
    os.chmod(key_file, 0o600)
    _, err = daemon.start_failing()
    assert "is not a Sluice key file" in err
    key_file.unlink()

    # Another key file with the same key id: the wrong key is named with the segment.
    sluice("keys", "init", "--key-file", str(key_file))
    _, err = daemon.start_failing()
    assert "does not open the data key" in err and ".seg" in err and "sluice-master version 1" in err

    # A key file that lacks the version the data needs.
    key_file.unlink()
    shutil.copy(saved, key_file)
    os.chmod(key_file, 0o600)
    sluice("keys", "rotate", "--key-file", str(key_file))
    text = key_file.read_text()
    import json
    doc = json.loads(text)
    doc["keys"] = [k for k in doc["keys"] if k["version"] != 1]
    key_file.write_text(json.dumps(doc))
    _, err = daemon.start_failing()
    assert "version 1 is not in the key file" in err and ".seg" in err

    # The right key file: everything is there, untouched.
    key_file.unlink()
    shutil.move(saved, key_file)
    daemon.start()
    assert len(read_stream(daemon.client(), "s")["shardId-000000000000"]) == 40
    daemon.stop()


def test_rotate_reload_rewrap_retire_then_restart_reads_everything(tmp_path):
    daemon, key_file = encrypted_daemon(tmp_path)
    daemon.start()
    daemon.client().create_stream(StreamName="r", ShardCount=2)
    put_marked(daemon.client(), "r", 50)

    assert "version 2" in sluice("keys", "rotate", "--key-file", str(key_file)).stdout
    daemon.proc.send_signal(signal.SIGHUP)  # the running daemon picks up version 2
    deadline = time.time() + 30
    while "key file reloaded" not in daemon.log.read_text():
        assert time.time() < deadline, daemon.log.read_text()
        time.sleep(0.1)
    daemon.client().create_stream(StreamName="r2", ShardCount=1)  # new segments: version 2
    put_marked(daemon.client(), "r2", 10)
    daemon.stop()
    import json
    versions = {k["version"] for k in json.loads(key_file.read_text())["keys"]}
    assert versions == {1, 2}

    refused = sluice("keys", "retire", "--key-file", str(key_file), "1", "--data-dir", str(daemon.data_dir), check=False)
    assert refused.returncode == 1 and "still need sluice-master version 1" in refused.stderr
    assert "rewrapped" in sluice("keys", "rewrap", "--key-file", str(key_file), str(daemon.data_dir)).stdout
    sluice("keys", "retire", "--key-file", str(key_file), "1", "--data-dir", str(daemon.data_dir))
    listed = sluice("keys", "list", "--key-file", str(key_file)).stdout
    assert "v2" in listed and "v1" not in listed and "secret" not in listed

    daemon.start()
    stored = [r for stream in ("r", "r2") for shard in read_stream(daemon.client(), stream).values() for r in shard]
    assert len(stored) == 120
    daemon.stop()


def test_key_from_systemd_credentials_and_stream_encryption_api(tmp_path):
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    sluice("keys", "init", "--key-file", str(credentials / "master.key"), "--key-id", "edge-box")
    daemon = Daemon(tmp_path, extra_config='[encryption]\nkey_file = "master.key"\nencrypt_all_streams = false\n')
    daemon.env["CREDENTIALS_DIRECTORY"] = str(credentials)
    daemon.start()
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="e", ShardCount=1)
    assert kinesis.describe_stream(StreamName="e")["StreamDescription"]["KeyId"] == "edge-box"
    kinesis.stop_stream_encryption(StreamName="e", EncryptionType="KMS", KeyId="edge-box")
    assert kinesis.describe_stream_summary(StreamName="e")["StreamDescriptionSummary"]["EncryptionType"] == "NONE"
    kinesis.put_record(StreamName="e", PartitionKey="k", Data=b"in clear by request")
    kinesis.start_stream_encryption(StreamName="e", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    kinesis.put_record(StreamName="e", PartitionKey="k", Data=MARKER)
    try:
        kinesis.start_stream_encryption(StreamName="e", EncryptionType="KMS", KeyId="missing-key")
        raise AssertionError("an unknown key must be refused")
    except kinesis.exceptions.KMSNotFoundException:
        pass
    daemon.stop()
    assert not any(MARKER in data for _, data in all_bytes(daemon.data_dir))
    daemon.start()
    assert [r["Data"] for r in read_stream(daemon.client(), "e")["shardId-000000000000"]] == [b"in clear by request", MARKER]
    daemon.stop()


def test_spooled_records_are_encrypted_and_verified(tmp_path):
    """Records waiting in the gateway's spool (and its checkpoints) hold no clear byte."""
    from conftest import status, wait_until
    logs = tmp_path / "logs"
    logs.mkdir()
    key_file = tmp_path / "master.key"
    sluice("keys", "init", "--key-file", str(key_file))
    (logs / "app.log").write_text("".join(f"{MARKER.decode()} line {n}\n" for n in range(600)))
    daemon = Daemon(tmp_path, extra_config=(
        f'[encryption]\nkey_file = "{key_file}"\n[limits]\nrecords_per_second = 100\n'
        f'[[streams]]\nname = "logs"\nshards = 1\n'
        f'[[sources.file]]\nstream = "logs"\npaths = ["{logs}/*.log"]\npartition_key = "k"\npoll_interval_ms = 100\n'))
    daemon.start()
    wait_until(lambda: status(daemon)["streams"][0]["shards"][0]["spoolRecords"] > 300, 30, what="records to spool")
    daemon.kill9()
    spool = daemon.data_dir / "spool"
    assert any(p.suffix == ".seg" for p in spool.rglob("*"))
    for path, data in all_bytes(daemon.data_dir):
        assert MARKER not in data and b" line " not in data, f"clear record bytes in {path}"
    out = sluice("verify", "--key-file", str(key_file), str(daemon.data_dir)).stdout
    assert out.strip().endswith("OK")
    daemon.start()
    wait_until(lambda: len([r for s in read_stream(daemon.client(), "logs").values() for r in s]) >= 600, 60, what="the spool to drain")
    daemon.stop()
    assert MARKER not in daemon.log.read_bytes()
