"""Crashes and damage: kill -9, torn tails, flipped bytes, graceful stop."""
import os
import threading
import time
from pathlib import Path

from conftest import Daemon, read_stream


def segments(daemon, stream, shard):
    return sorted((daemon.data_dir / "streams" / stream / shard).glob("*.seg"))


def test_kill9_loses_nothing_acknowledged(tmp_path):
    daemon = Daemon(tmp_path).start()
    daemon.client().create_stream(StreamName="crash", ShardCount=2)
    acknowledged = []
    stop = threading.Event()

    def writer():
        kinesis = daemon.client()
        n = 0
        while not stop.is_set():
            entries = [{"PartitionKey": f"k{(n + i) % 7}", "Data": f"r{n + i}".encode()} for i in range(20)]
            try:
                result = kinesis.put_records(StreamName="crash", Records=entries)
            except Exception:
                return  # the daemon died under us: this batch was never acknowledged
            acknowledged.extend(e["Data"] for e, r in zip(entries, result["Records"]) if "SequenceNumber" in r)
            n += 20

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(1.5)
    daemon.kill9()
    stop.set()
    thread.join()
    assert len(acknowledged) > 100

    daemon.start()
    stored = [r["Data"] for shard in read_stream(daemon.client(), "crash").values() for r in shard]
    missing = set(acknowledged) - set(stored)
    assert not missing, f"{len(missing)} acknowledged records lost"
    assert len(stored) == len(set(stored)), "no record stored twice"
    daemon.stop()


def test_commit_journal_restores_segment_bytes_a_power_cut_took(tmp_path):
    """kill -9 keeps the page cache, so a power cut is played by hand: after the kill,
    every segment is cut back to its size after the first puts, as if nothing written
    since had reached it. (A segment's creation is fsynced with its directory; later small
    flushes reach the disk through the commit journal only.) The journal puts them back."""
    daemon = Daemon(tmp_path).start()
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="cut", ShardCount=4)
    sent = [f"r{n}".encode() for n in range(200)]
    for n, data in enumerate(sent[:40]):
        kinesis.put_record(StreamName="cut", PartitionKey=f"device-{n}", Data=data)
    files = sorted((daemon.data_dir / "streams" / "cut").glob("shardId-*/*.seg"))
    assert len(files) == 4
    early = {path: path.stat().st_size for path in files}
    for n, data in enumerate(sent[40:], start=40):
        kinesis.put_record(StreamName="cut", PartitionKey=f"device-{n}", Data=data)
    daemon.kill9()

    for path, size in early.items():
        assert path.stat().st_size > size
        os.truncate(path, size)
    verify = daemon.sluice("verify", str(daemon.data_dir), check=False)
    assert "commit-journal entries are not yet checkpointed" in verify.stdout

    daemon.start()
    assert "commit journal replayed" in daemon.log.read_text()
    stored = read_stream(daemon.client(), "cut")
    assert sorted(r["Data"] for shard in stored.values() for r in shard) == sorted(sent)
    for shard in stored.values():
        assert [r["Data"] for r in shard] == sorted((r["Data"] for r in shard), key=lambda d: int(d[1:])), "per-shard order kept"
    daemon.stop()
    verify = daemon.sluice("verify", str(daemon.data_dir))
    assert verify.stdout.strip().endswith("OK") and "commit-journal" not in verify.stdout


def test_torn_tail_is_cut_kept_and_reported(tmp_path):
    daemon = Daemon(tmp_path).start()
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="torn", ShardCount=1)
    for n in range(50):
        kinesis.put_record(StreamName="torn", PartitionKey="k", Data=f"r{n}".encode())
    daemon.kill9()

    newest = segments(daemon, "torn", "shardId-000000000000")[-1]
    good_size = newest.stat().st_size
    with open(newest, "ab") as f:
        f.write(b"\x40\x00\x00\x00\xde\xad\xbe\xef" + b"half a frame")

    daemon.start()
    log = daemon.log.read_text()
    assert "cut a torn tail" in log and newest.name in log
    broken = Path(str(newest) + ".broken")
    assert broken.read_bytes() == b"\x40\x00\x00\x00\xde\xad\xbe\xef" + b"half a frame"
    assert newest.stat().st_size == good_size
    stored = read_stream(daemon.client(), "torn")["shardId-000000000000"]
    assert [r["Data"] for r in stored] == [f"r{n}".encode() for n in range(50)]
    kinesis = daemon.client()
    kinesis.put_record(StreamName="torn", PartitionKey="k", Data=b"after")
    daemon.stop()
    verify = daemon.sluice("verify", str(daemon.data_dir))
    assert verify.stdout.strip().endswith("OK")


def test_a_damaged_frame_costs_only_its_own_records(tmp_path):
    daemon = Daemon(tmp_path).start()
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="rot", ShardCount=2)
    for batch in range(10):  # ten appends: ten frames per shard
        kinesis.put_records(StreamName="rot", Records=[{"PartitionKey": f"k{n}", "Data": f"r{batch}-{n}".encode()} for n in range(10)])
    before = read_stream(kinesis, "rot")
    daemon.stop()

    victim = segments(daemon, "rot", "shardId-000000000000")[0]
    data = bytearray(victim.read_bytes())
    data[60] ^= 0xFF  # inside the first frame, with more frames after it
    victim.write_bytes(bytes(data))

    verify = daemon.sluice("verify", str(daemon.data_dir), check=False)
    assert verify.returncode == 1
    assert victim.name in verify.stdout and "DAMAGED" in verify.stdout
    json_verify = daemon.sluice("verify", "--json", str(daemon.data_dir), check=False)
    assert '"clean":false' in json_verify.stdout.replace(" ", "")

    daemon.start()
    log = daemon.log.read_text()
    assert "a segment is damaged inside" in log and victim.name in log
    after = read_stream(daemon.client(), "rot")
    assert after["shardId-000000000001"] == before["shardId-000000000001"]
    # Only the damaged frame's records are gone: the nine frames after it are served.
    damaged = before["shardId-000000000000"]
    survivors = after["shardId-000000000000"]
    assert survivors and len(survivors) < len(damaged)
    assert [r["SequenceNumber"] for r in survivors] == [r["SequenceNumber"] for r in damaged if r in survivors]
    assert {r["Data"] for r in survivors} < {r["Data"] for r in damaged}
    assert Path(str(victim) + ".damaged").exists()
    result = daemon.client().put_record(StreamName="rot", PartitionKey="k0", Data=b"still writable")
    assert result["SequenceNumber"]
    daemon.stop()


def test_sigterm_stops_cleanly_and_everything_reads_back(tmp_path):
    daemon = Daemon(tmp_path).start()
    kinesis = daemon.client()
    kinesis.create_stream(StreamName="calm", ShardCount=1)
    kinesis.put_records(StreamName="calm", Records=[{"PartitionKey": "k", "Data": f"r{n}".encode()} for n in range(300)])
    started = time.time()
    daemon.stop()
    assert time.time() - started < 10
    assert "stopped; everything acknowledged is on disk" in daemon.log.read_text()
    daemon.start()
    assert len(read_stream(daemon.client(), "calm")["shardId-000000000000"]) == 300
    daemon.stop()


def test_a_second_sluiced_on_the_same_data_dir_is_refused(tmp_path):
    first = Daemon(tmp_path).start()
    first.client().create_stream(StreamName="one", ShardCount=1)
    (tmp_path / "second").mkdir()
    second = Daemon(tmp_path / "second")
    second.config.write_text(first.config.read_text().replace(f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"))
    _, output = second.start_failing()
    assert "is in use by another sluiced" in output and f"pid {first.proc.pid}" in output
    # The first one is untouched and keeps serving; after it stops, a start succeeds.
    first.client().put_record(StreamName="one", PartitionKey="k", Data=b"still here")
    first.stop()
    second.start()
    assert [r["Data"] for r in read_stream(second.client(), "one")["shardId-000000000000"]] == [b"still here"]
    second.stop()
