"""A damaged data directory, file kind by file kind, against the real sluiced and sluice.

For each damage: sluiced starts and serves every record the damage did not touch, or it
refuses with a message naming the file exactly when `sluice verify` reports that file;
nothing is written outside data_dir; a quarantined stream comes back with `sluice repair`.
"""
import json
import os
import random
import struct
from pathlib import Path

import pytest

from conftest import Daemon, read_stream

STREAMS = {"alpha": 2, "beta": 1, "logs": 1}
# Every daemon a test started, killed after it whatever happened (a failed assertion
# must not leave a sluiced running).
STARTED = []


def tracked(tmp_path, extra=""):
    """A started sluiced that is killed after the test whatever happens."""
    d = Daemon(tmp_path, extra)
    STARTED.append(d)
    return d.start()


@pytest.fixture(autouse=True)
def kill_leftovers():
    yield
    while STARTED:
        d = STARTED.pop()
        if d.proc and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def populated(tmp_path):
    """A stopped sluiced's data directory: alpha and beta from the API, logs from a tailed
    file; returns (daemon, {stream: sorted records})."""
    log_file = tmp_path / "app.log"
    log_file.write_text("".join(f"line {n}\n" for n in range(50)))
    streams = "".join(f'[[streams]]\nname = "{n}"\nshards = {c}\n' for n, c in STREAMS.items())
    d = tracked(tmp_path, streams + f'[[sources.file]]\nname = "app"\nstream = "logs"\npaths = ["{log_file}"]\n'
                                   'poll_interval_ms = 100\n')
    client = d.client()
    for stream in ("alpha", "beta"):
        client.put_records(StreamName=stream, Records=[
            {"PartitionKey": f"k{n}", "Data": f"{stream}-{n}".encode()} for n in range(60)])
    from conftest import wait_until
    wait_until(lambda: sum(len(r) for r in read_stream(client, "logs").values()) >= 50, what="the file's lines stored")
    expected = {s: stored(client, s) for s in STREAMS}
    d.stop()
    return d, expected


def stored(client, stream):
    return sorted(r["Data"].decode() for rs in read_stream(client, stream).values() for r in rs)


def verify(d):
    return d.sluice("verify", str(d.data_dir), check=False)


def outside_entries(d):
    """What exists beside data_dir in the test's directory (must not grow)."""
    return sorted(p.name for p in d.workdir.iterdir())


def start_or_refusal(d):
    try:
        d.start()
        return None
    except RuntimeError as refused:
        return str(refused)


def first_segment(d, stream="alpha", shard=0):
    return sorted((d.data_dir / "streams" / stream / f"shardId-{shard:012d}").glob("*.seg"))[0]


def random_bytes(path, count=None):
    path.write_bytes(random.Random(7).randbytes(count or max(5, path.stat().st_size)))


DAMAGES = {
    "segment deleted": lambda d: first_segment(d).unlink(),
    "segment truncated to its header": lambda d: os.truncate(first_segment(d), 60),
    "segment random bytes": lambda d: random_bytes(first_segment(d)),
    "segment one flipped byte": lambda d: flip(first_segment(d), 200),
    "stream.json deleted": lambda d: (d.data_dir / "streams/alpha/stream.json").unlink(),
    "stream.json truncated": lambda d: os.truncate(d.data_dir / "streams/alpha/stream.json", 40),
    "stream.json random bytes": lambda d: random_bytes(d.data_dir / "streams/alpha/stream.json"),
    "stream.json crafted shard ranges": lambda d: craft_metadata(d),
    "journal deleted": lambda d: (d.data_dir / "journal/commit.journal").unlink(),
    "journal truncated": lambda d: os.truncate(d.data_dir / "journal/commit.journal", 100),
    "journal random bytes": lambda d: random_bytes(d.data_dir / "journal/commit.journal", 8192),
    "journal entry writing outside data_dir": lambda d: craft_journal(d, "../../outside.seg", 0),
    "journal entry with an absolute path": lambda d: craft_journal(d, str(d.workdir / "absolute.seg"), 0),
    "journal entry at position 2^50": lambda d: craft_journal(d, relative_segment(d), 1 << 50),
    "journal entry at position 2^63+": lambda d: craft_journal(d, relative_segment(d), (1 << 64) - 5),
    "engine.key deleted": lambda d: (d.data_dir / "engine.key").unlink(),
    "engine.key 5 random bytes": lambda d: random_bytes(d.data_dir / "engine.key", 5),
    "lock random bytes": lambda d: random_bytes(d.data_dir / "lock", 64),
    "lock deleted": lambda d: (d.data_dir / "lock").unlink(),
    "checkpoint random bytes": lambda d: random_bytes(d.data_dir / "checkpoints/app.json", 64),
    "checkpoint crafted offsets": lambda d: craft_checkpoint(d),
}


def flip(path, at):
    data = bytearray(path.read_bytes())
    data[min(at, len(data) - 1)] ^= 0xFF
    path.write_bytes(bytes(data))


def relative_segment(d):
    return str(first_segment(d).relative_to(d.data_dir))


def craft_metadata(d):
    path = d.data_dir / "streams/alpha/stream.json"
    meta = json.loads(path.read_text())
    meta["shards"][0]["hashKeyStart"] = "not-a-number"
    meta["shards"][1]["index"] = -1
    meta["retentionHours"] = 2**62
    path.write_text(json.dumps(meta))


def craft_checkpoint(d):
    path = d.data_dir / "checkpoints/app.json"
    doc = json.loads(path.read_text())
    for entry in doc["files"]:
        entry["offset"] = -(2**62)
        entry["fingerprintLength"] = 2**62
    path.write_text(json.dumps(doc))


def craft_journal(d, path, position):
    """Appends one entry with a valid CRC to the journal's current generation."""
    journal = d.data_dir / "journal/commit.journal"
    data = bytearray(journal.read_bytes())
    generation = struct.unpack_from("<Q", data, 12)[0]
    payload = b"X" * 16
    raw_path = path.encode()
    body = struct.pack("<I", 1) + struct.pack("<H", len(raw_path)) + raw_path + struct.pack("<QI", position, len(payload)) + payload
    head = struct.pack("<QI", generation, len(body))
    crc = crc32c(head + body)
    entry = struct.pack("<I", 0x544E454A) + head + struct.pack("<I", crc) + body
    data[4096:4096 + len(entry)] = entry
    journal.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damage_is_survived_or_refused_in_the_words_verify_uses(tmp_path, damage):
    d, expected = populated(tmp_path)
    before = outside_entries(d)
    DAMAGES[damage](d)
    report = verify(d)
    refusal = start_or_refusal(d)
    assert outside_entries(d) == before, "something was written outside data_dir"
    assert not (tmp_path.parent / "outside.seg").exists()
    if refusal is not None:
        damaged_file = [line for line in refusal.splitlines() if "error" in line.lower() or "refus" in line.lower()]
        assert report.returncode == 1, f"sluiced refused but verify said OK:\n{report.stdout}\n{refusal[-2000:]}"
        named = [f for f in ("engine.key", "stream.json", "commit.journal", ".seg") if f in refusal]
        assert named and any(f in report.stdout for f in named), (refusal[-2000:], report.stdout)
        assert damaged_file
        return
    client = d.client()
    listed = set(client.list_streams()["StreamNames"])
    for stream, records in expected.items():
        if stream == "alpha" and damage.startswith(("segment", "stream.json")):
            continue  # checked below
        assert stream in listed, f"{stream} missing after {damage}"
        got = stored(client, stream)
        if stream == "logs" and damage.startswith("checkpoint"):
            assert set(got) == set(records), "a lost checkpoint may repeat lines, never lose them"
        else:
            assert got == records, f"{stream} after {damage}"
    if damage.startswith("segment"):
        got = stored(client, "alpha")
        assert set(got) <= set(expected["alpha"])
        # Shard 1 was not touched: every record it held is still served.
        shard1 = {r["Data"].decode() for r in read_stream(client, "alpha")["shardId-000000000001"]}
        assert shard1 and shard1 <= set(got)
    if damage.startswith("stream.json"):
        assert "alpha" not in listed
        assert "quarantined" in d.log.read_text()
        assert report.returncode == 1 and "quarantines this stream" in report.stdout
        segments_before = sorted((d.data_dir / "streams/alpha").glob("shardId-*/*.seg"))
        assert segments_before, "the quarantined stream's segments were deleted"
        # sluice repair brings it back, every record served.
        d.stop()
        repaired = d.sluice("repair", str(d.data_dir), check=False)
        assert repaired.returncode == 0, repaired.stdout + repaired.stderr
        d.start()
        assert stored(d.client(), "alpha") == expected["alpha"]
        assert d.sluice("verify", str(d.data_dir)).returncode == 0
    if damage == "checkpoint random bytes":
        assert "file checkpoints unreadable: this source starts over as on its first run" in d.log.read_text()
        assert list((d.data_dir / "checkpoints").glob("app.json.unreadable-*"))
    if damage.startswith("journal entry"):
        assert "commit journal write rejected" in d.log.read_text()
        assert report.returncode == 1 and "commit journal write rejected" in report.stdout
    d.stop()


def test_repair_rebuilds_a_resharded_stream_from_its_shards_birth_records(tmp_path):
    d = tracked(tmp_path)
    client = d.client()
    client.create_stream(StreamName="split", ShardCount=2)
    before = [f"b{n}" for n in range(40)]
    client.put_records(StreamName="split", Records=[{"PartitionKey": f"k{n}", "Data": x.encode()} for n, x in enumerate(before)])
    client.split_shard(StreamName="split", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126))
    after = [f"a{n}" for n in range(40)]
    client.put_records(StreamName="split", Records=[{"PartitionKey": f"k{n}", "Data": x.encode()} for n, x in enumerate(after)])
    shards = client.list_shards(StreamName="split")["Shards"]
    d.stop()
    (d.data_dir / "streams/split/stream.json").unlink()
    result = d.sluice("repair", str(d.data_dir), check=False)
    assert result.returncode == 0, result.stdout
    d.start()
    client = d.client()
    assert stored(client, "split") == sorted(before + after)
    rebuilt = client.list_shards(StreamName="split")["Shards"]
    strip = lambda s: {k: v for k, v in s.items() if k != "SequenceNumberRange"}
    assert [strip(s) for s in rebuilt] == [strip(s) for s in shards]
    d.stop()


def test_repair_without_birth_records_needs_the_operators_word(tmp_path):
    d = tracked(tmp_path)
    client = d.client()
    client.create_stream(StreamName="old", ShardCount=2)
    client.put_records(StreamName="old", Records=[{"PartitionKey": f"k{n}", "Data": b"x"} for n in range(20)])
    d.stop()
    (d.data_dir / "streams/old/stream.json").unlink()
    for birth in (d.data_dir / "streams/old").glob("shardId-*/shard.json"):
        birth.unlink()  # as a data directory from before birth records
    result = d.sluice("repair", str(d.data_dir), check=False)
    assert result.returncode == 1
    assert "--even-split" in result.stdout and "restore stream.json from a backup" in result.stdout
    d.start()
    assert "old" not in d.client().list_streams()["StreamNames"]
    assert list((d.data_dir / "streams/old").glob("shardId-000000000000/*.seg"))
    d.stop()
    result = d.sluice("repair", "--even-split", str(d.data_dir), check=False)
    assert result.returncode == 0, result.stdout
    d.start()
    assert len(stored(d.client(), "old")) == 20
    d.stop()


def spooled(tmp_path):
    """A stopped sluiced whose file source left lines in its spool (1 record/s limit),
    written ten lines at a time so the spool holds one frame per ten lines; returns
    (daemon, every line written, the spool shard directory)."""
    from conftest import status, wait_until
    log_file = tmp_path / "app.log"
    log_file.write_text("")
    d = tracked(tmp_path, '[limits]\nrecords_per_second = 1\n[[streams]]\nname = "logs"\nshards = 1\n'
                          f'[[sources.file]]\nname = "app"\nstream = "logs"\npaths = ["{log_file}"]\npoll_interval_ms = 50\n')
    lines = [f"line {n}" for n in range(300)]
    spooled_records = lambda: sum(shard["spooledRecords"] for stream in status(d)["streams"] for shard in stream["shards"])
    for chunk in range(30):
        before = spooled_records()
        with open(log_file, "a") as f:
            f.write("".join(l + "\n" for l in lines[chunk * 10:(chunk + 1) * 10]))
        wait_until(lambda: spooled_records() >= before + 9, what=f"chunk {chunk} spooled")
    d.stop()
    spool = next((d.data_dir / "spool" / "logs").glob("spool-shardId-*"))
    assert list(spool.glob("*.seg"))
    return d, lines, spool


SPOOL_DAMAGES = {
    "spool cursor random bytes": lambda spool: random_bytes(spool / "cursor", 40) if (spool / "cursor").exists() else (spool / "cursor").write_bytes(os.urandom(40)),
    "spool cursor past the end": lambda spool: (spool / "cursor").write_text(f"sluice-spool-cursor/1 {2**63}\n"),
    "spool cursor deleted": lambda spool: (spool / "cursor").unlink(missing_ok=True),
    "spool segment one flipped byte": lambda spool: flip(sorted(spool.glob("*.seg"))[0], 200),
    "spool segment random bytes": lambda spool: random_bytes(sorted(spool.glob("*.seg"))[0]),
}


@pytest.mark.parametrize("damage", list(SPOOL_DAMAGES))
def test_spool_damage_loses_at_most_the_damaged_records(tmp_path, damage):
    d, lines, spool = spooled(tmp_path)
    SPOOL_DAMAGES[damage](spool)
    # The spool drains at 1 record/s; lift the limit so the test waits on draining, not the clock.
    d.config.write_text(d.config.read_text().replace("records_per_second = 1\n", "records_per_second = 100000\n"))
    d.start()
    from conftest import status, wait_until
    wait_until(lambda: all(shard["spoolRecords"] == 0 for stream in status(d)["streams"] for shard in stream["shards"]),
               what="the spool drained")
    got = stored(d.client(), "logs")
    assert set(got) <= set(lines)
    if damage.startswith("spool cursor"):
        assert set(got) == set(lines), f"{len(set(lines) - set(got))} lines lost"
        if damage != "spool cursor deleted":
            assert "unreadable cursor" in d.log.read_text()
    elif damage == "spool segment one flipped byte":
        # Only the damaged frame's ten lines are gone.
        assert len(set(lines) - set(got)) <= 10, f"{len(set(lines) - set(got))} lines lost"
        assert "damaged inside" in d.log.read_text()
    d.stop()
