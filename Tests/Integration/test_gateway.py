"""The gateway end to end: the real sluiced tails real files (rotated by rename and by
copytruncate), meters each shard, spools what is over the limit, and survives kill -9."""
import json
import os
import random
import shutil
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import Daemon, read_shard, status, wait_until


def gateway(tmp_path, *, shards=1, limits="", source="", paths=None, streams_extra=""):
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    paths = paths or [f"{logs}/*.log"]
    config = (
        f'[[streams]]\nname = "logs"\nshards = {shards}\n{streams_extra}\n'
        f'{limits}\n'
        f'[[sources.file]]\nstream = "logs"\npaths = {json.dumps(paths)}\n'
        f'poll_interval_ms = 100\nrotate_wait_ms = 1500\n{source}\n'
    )
    return Daemon(tmp_path, config), logs


def write_kib_lines(path, count):
    """`count` lines of 1 KiB (newline included), numbered `0000000-` onwards."""
    path.write_text("".join(f"{n:07d}-" + "x" * 1015 + "\n" for n in range(count)))


def stored(d, stream="logs"):
    """Every record of the stream, shard by shard, parents before children."""
    client = d.client()
    shards = sorted(client.list_shards(StreamName=stream)["Shards"], key=lambda s: s["ShardId"])
    out = []
    for shard in shards:
        out += read_shard(client, stream, shard["ShardId"])
    return out


def texts(records):
    return [r["Data"].decode() for r in records]


def caught_up(d):
    """Every tailed file read and made durable, every spool drained."""
    s = status(d)
    files = [f for src in s["sources"] for f in src["files"]]
    spooled = sum(sh["spoolRecords"] for st in s["streams"] for sh in st["shards"])
    return bool(files) and all(f["lagBytes"] == 0 for f in files) and spooled == 0


class Writer(threading.Thread):
    """Appends numbered lines to app.log, rotating every `per_file` lines, alternately by
    rename and by copytruncate. Lines are `g<file>-<n>`; `written` lists them all."""

    def __init__(self, logs, copies, daemon_ref, total=9000, per_file=1500):
        super().__init__(daemon=True)
        self.logs, self.copies, self.daemon_ref = logs, copies, daemon_ref
        self.total, self.per_file = total, per_file
        self.written = []
        self.rotations = []
        self.error = None

    def run(self):
        try:
            path = self.logs / "app.log"
            generation = 0
            f = open(path, "a")
            for n in range(self.total):
                if n and n % self.per_file == 0:
                    f.close()
                    if (n // self.per_file) % 2 == 1:
                        os.rename(path, self.logs / f"app.log.{n}")
                        self.rotations.append("rename")
                    else:
                        # copytruncate loses lines written between the copy and the
                        # truncate unless the reader caught up: logrotate's own race. Wait
                        # for sluiced to catch up, as `delaycompress`-style setups do.
                        wait_until(lambda: self.daemon_ref[0].proc.poll() is None and caught_up_file(self.daemon_ref[0]), 120,
                                   what="sluiced to catch up before copytruncate")
                        shutil.copy(path, self.copies / f"app.{n}")
                        os.truncate(path, 0)
                        self.rotations.append("copytruncate")
                    generation += 1
                    f = open(path, "a")
                line = f"g{generation}-{n:07d}"
                f.write(line + "\n")
                f.flush()
                self.written.append(line)
                if n % 100 == 0:
                    time.sleep(0.02)
            f.close()
        except Exception as e:  # surfaced by the test
            self.error = e


def caught_up_file(d):
    try:
        s = status(d)
    except OSError:
        return False
    return all(f["lagBytes"] == 0 for src in s["sources"] for f in src["files"])


def test_rotation_and_five_kill9_store_every_line_once_in_order_within_the_limit(tmp_path):
    """Rename and copytruncate rotations, the limiter engaged (the spool in use), kill -9
    five times at random moments: no line missing, none twice, one key's lines in order
    across files, and no one-second window over the shard's limit, restarts included."""
    copies = tmp_path / "copies"
    copies.mkdir()
    d, logs = gateway(tmp_path, paths=[f"{tmp_path}/logs/app.log*"], source='partition_key = "app"\nbatch_records = 500')
    d.start()
    ref = [d]
    writer = Writer(logs, copies, ref, total=12000)
    writer.start()
    kills = 0
    rng = random.Random(int(os.environ.get("SLUICE_TEST_SEED", time.time())))
    for at in sorted(rng.sample(range(1000, 11500), 5)):
        wait_until(lambda: len(writer.written) >= at or writer.error, 120, what=f"{at} lines written")
        d.kill9()
        kills += 1
        d.start()
    writer.join(timeout=300)
    assert writer.error is None, writer.error
    assert set(writer.rotations) == {"rename", "copytruncate"}
    wait_until(lambda: caught_up(d), 120, what="sluiced to store every line")
    got = texts(stored(d))
    missing = set(writer.written) - set(got)
    assert not missing, f"{len(missing)} lines lost, e.g. {sorted(missing)[:5]}"
    duplicates = len(got) - len(set(got))
    worst_records, worst_bytes = worst_window(stored(d))
    print(f"\n{len(writer.written)} lines, {kills} kill -9, {duplicates} duplicates, worst one-second window {worst_records} records")
    assert duplicates == 0, f"{duplicates} lines stored twice"
    assert worst_records <= 1000 and worst_bytes <= 1 << 20
    # One partition key for every file: a rotated file's lines all come before the lines
    # of the file that replaced it (numbers count on across files).
    seen = set()
    last = None
    for line in got:
        if line in seen:
            continue
        seen.add(line)
        n = int(line.split("-")[1])
        assert last is None or n > int(last.split("-")[1]), f"{line} came after {last}"
        last = line
    d.stop()


def test_inode_reuse_does_not_resume_at_a_stale_offset(tmp_path):
    d, logs = gateway(tmp_path)
    d.start()
    log = logs / "a.log"
    log.write_text("".join(f"old-{n:05d}\n" for n in range(100)))
    wait_until(lambda: len(stored(d)) == 100, 60, what="the first file")
    d.stop()
    old_inode = log.stat().st_ino
    log.unlink()
    log.write_text("".join(f"new-{n:05d}\n" for n in range(300)))
    # Make the reuse certain: the checkpoint now claims the new file's inode, with the old
    # file's fingerprint and offset, exactly what a reused inode looks like.
    checkpoint_file = next((d.data_dir / "checkpoints").glob("*.json"))
    checkpoint = json.loads(checkpoint_file.read_text())
    assert checkpoint["files"][0]["offset"] == 1000
    checkpoint["files"][0]["inode"] = log.stat().st_ino
    checkpoint_file.write_text(json.dumps(checkpoint))
    d.start()
    wait_until(lambda: len(stored(d)) >= 400, 60, what="the new file from its start")
    got = texts(stored(d))
    assert got[100:] == [f"new-{n:05d}" for n in range(300)], f"inode {old_inode} reused: resumed at {got[100:101]}"
    assert "reuses a known inode" in d.log.read_text()
    d.stop()


def worst_window(records):
    """The most records and bytes any one-second window of arrival times holds."""
    times = [r["ApproximateArrivalTimestamp"].timestamp() for r in records]
    sizes = [len(r["Data"]) + len(r["PartitionKey"]) for r in records]
    worst_records = worst_bytes = 0
    start = window_bytes = 0
    for end in range(len(times)):
        window_bytes += sizes[end]
        while times[end] - times[start] >= 1.0:
            window_bytes -= sizes[start]
            start += 1
        worst_records = max(worst_records, end - start + 1)
        worst_bytes = max(worst_bytes, window_bytes)
    return worst_records, worst_bytes


def test_the_limiter_remembers_the_second_before_a_kill9(tmp_path):
    """Draining a spool at the shard's limit, sluiced is killed and started again at once:
    the meter counts what the shard stored in its last second, so the window around the
    restart holds no more than the limit."""
    d, logs = gateway(tmp_path, source='partition_key = "k"')
    (logs / "a.log").write_text("".join(f"line-{n:05d}\n" for n in range(6000)))
    d.start()
    wait_until(lambda: status(d)["streams"][0]["shards"][0]["drainedRecords"] > 1500, 30, what="the spool draining at the limit")
    d.kill9()
    d.start()
    wait_until(lambda: caught_up(d) and len(stored(d)) >= 6000, 120, what="every line stored after the restart")
    records = stored(d)
    assert {r["Data"].decode() for r in records} == {f"line-{n:05d}" for n in range(6000)}
    worst_records, _ = worst_window(records)
    assert worst_records <= 1000, f"a one-second window around the restart held {worst_records} records"
    d.stop()


def test_limiter_keeps_every_second_under_the_shard_limit_and_the_spool_empties(tmp_path):
    d, logs = gateway(tmp_path, source='partition_key = "k"')
    # 5 MiB of 1 KiB lines, offered at once.
    write_kib_lines(logs / "big.log", 5120)
    d.start()
    wait_until(lambda: caught_up(d), 120, what="the spool to drain")
    records = stored(d)
    assert [r["Data"][:7].decode() for r in records] == [f"{n:07d}" for n in range(5120)]
    worst_records, worst_bytes = worst_window(records)
    print(f"\nworst one-second window: {worst_records} records, {worst_bytes} bytes")
    assert worst_records <= 1000
    assert worst_bytes <= 1 << 20
    s = status(d)["streams"][0]["shards"][0]
    assert s["spooledRecords"] > 0 and s["spoolRecords"] == 0 and s["spoolBytes"] == 0
    with urllib.request.urlopen(d.endpoint + "/metrics", timeout=5) as r:
        metrics = r.read().decode()
    for name in ("SpoolRecords", "SpoolBytes", "SpoolAppendedRecords", "CheckpointLagBytes", "SourceRecords", "GatewayStoredRecords"):
        assert name in metrics, f"{name} missing from /metrics"
    d.stop()


def test_spool_survives_kill9_and_a_torn_spool_tail_is_cut(tmp_path):
    d, logs = gateway(tmp_path, limits="[limits]\nrecords_per_second = 200\n", source='partition_key = "k"')
    (logs / "a.log").write_text("".join(f"line-{n:05d}\n" for n in range(1500)))
    d.start()
    wait_until(lambda: status(d)["streams"][0]["shards"][0]["spoolRecords"] > 500, 30, what="records to spool")
    d.kill9()
    spool = d.data_dir / "spool" / "logs" / "spool-shardId-000000000000"
    newest = sorted(spool.glob("*.seg"))[-1]
    with open(newest, "ab") as f:
        f.write(b"\x00\x01torn")
    d.start()
    wait_until(lambda: caught_up(d), 120, what="the spool to drain after the crash")
    got = texts(stored(d))
    assert set(got) == {f"line-{n:05d}" for n in range(1500)}
    firsts = []
    for line in got:
        if line not in firsts[-1:] and (not firsts or line > firsts[-1]):
            firsts.append(line)
    assert firsts == sorted(set(got)), "records kept their order"
    log = d.log.read_text()
    assert "torn tail" in log and str(newest.name) in log
    assert list(spool.glob("*.broken"))
    d.stop()


def started_with_a_small_spool(tmp_path, on_full, total):
    """A daemon with a 1 MiB spool bound and `total` 1 KiB lines waiting in a.log."""
    d, logs = gateway(tmp_path, limits=f'[limits]\nspool_max_bytes = 1048576\non_full = "{on_full}"\n', source='partition_key = "k"')
    write_kib_lines(logs / "a.log", total)
    return d.start()


def test_block_stops_reading_without_losing_lines(tmp_path):
    total = 4096
    d = started_with_a_small_spool(tmp_path, "block", total)
    saw_lag_with_full_spool = False
    for _ in range(100):
        s = status(d)
        lag = sum(f["lagBytes"] for src in s["sources"] for f in src["files"])
        assert s["spool"]["usedBytes"] <= (1 << 20) + (1 << 20), "the spool stays near its bound"
        if lag > (1 << 20) and s["spool"]["usedBytes"] > 0:
            saw_lag_with_full_spool = True
        if caught_up(d):
            break
        time.sleep(0.1)
    assert saw_lag_with_full_spool, "the file was left unread while the spool was full"
    wait_until(lambda: caught_up(d), 120, what="everything to be stored")
    got = [r["Data"][:7].decode() for r in stored(d)]
    assert got == [f"{n:07d}" for n in range(total)]
    assert status(d)["spool"]["droppedRecords"] == 0
    d.stop()


def test_drop_oldest_drops_only_what_it_counts(tmp_path):
    total = 6144
    d = started_with_a_small_spool(tmp_path, "drop_oldest", total)
    wait_until(lambda: caught_up(d), 120, what="the source to finish")
    got = [r["Data"][:7].decode() for r in stored(d)]
    dropped = status(d)["spool"]["droppedRecords"]
    assert dropped > 0
    assert len(got) == len(set(got)), "no duplicates without a crash"
    assert len(got) + dropped == total, f"{len(got)} stored + {dropped} dropped != {total} written"
    assert got == sorted(got)
    assert "drop_oldest" in d.log.read_text()
    out = d.sluice("status", "--endpoint", d.endpoint).stdout
    assert "shardId-000000000000" in out and f"{dropped} records dropped" in out and "a.log" in out
    d.stop()


def test_bad_source_config_is_refused_naming_the_key(tmp_path):
    d, _ = gateway(tmp_path, source='partition_key = "{nope}"')
    _, err = d.start_failing()
    assert "[[sources.file]] #1 partition_key" in err and "{nope}" in err
    d, _ = gateway(tmp_path, source='parse_error_stream = "missing"')
    _, err = d.start_failing()
    assert "parse_error_stream" in err and '"missing" does not exist' in err
    d, _ = gateway(tmp_path, limits='[limits]\non_full = "wait"\n')
    _, err = d.start_failing()
    assert "on_full" in err and '"drop_oldest"' in err


def test_bad_lines_are_kept_cut_or_retried(tmp_path):
    source = 'parser = "json"\npartition_key = "{json.id}"\nmax_record_bytes = 100000\ntruncation_marker = "<CUT>"\nadd_metadata = true\n'
    d, logs = gateway(tmp_path, source=source)
    locked = logs / "locked.log"
    locked.write_text('{"id":"late","v":1}\n')
    locked.chmod(0)
    # Without capabilities root obeys file modes, so the locked file is really unreadable.
    d.command_prefix = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]
    d.start()
    lines = ['{"id":"d1","v":1}', "this is not json", '{"id":"d2","blob":"' + "q" * 2_000_000 + '"}']
    (logs / "a.log").write_text("\n".join(lines) + "\n")
    wait_until(lambda: len(stored(d)) >= 3, 60, what="three records")
    assert "cannot open a file to tail" in d.log.read_text()
    records = {r["PartitionKey"]: json.loads(r["Data"]) for r in stored(d)}
    assert records["d1"]["v"] == 1 and records["d1"]["host"] and records["d1"]["file"].endswith("a.log")
    bad = records["unknown"] if "unknown" in records else None
    assert bad is not None
    texts_ = [r for r in (json.loads(x["Data"]) for x in stored(d)) if "parse_error" in r]
    messages = sorted(r["message"][:20] for r in texts_)
    assert any(m.startswith("this is not json") for m in messages)
    cut = [r for r in texts_ if r["message"].endswith("<CUT>")]
    assert len(cut) == 1 and len(cut[0]["message"]) <= 100000
    s = status(d)["sources"][0]
    assert s["parseErrors"] == 2 and s["truncated"] == 1 and s["keyFallbacks"] == 2
    locked.chmod(0o644)
    wait_until(lambda: any(r["PartitionKey"] == "late" for r in stored(d)), 30, what="the unlocked file to be read")
    d.stop()


def test_limiter_follows_a_split_and_keeps_per_key_order(tmp_path):
    """Issue #7's gateway line: after SplitShard the gateway meters and writes the children,
    and what the parent's spool held is stored before newer records of the same key."""
    d, logs = gateway(tmp_path, limits="[limits]\nrecords_per_second = 200\n", source='partition_key = "k"')
    log = logs / "a.log"
    log.write_text("".join(f"line-{n:05d}\n" for n in range(1500)))
    d.start()
    wait_until(lambda: status(d)["streams"][0]["shards"][0]["spoolRecords"] > 300, 30, what="records to spool")
    client = d.client()
    parent = client.list_shards(StreamName="logs")["Shards"][0]
    middle = (int(parent["HashKeyRange"]["StartingHashKey"]) + int(parent["HashKeyRange"]["EndingHashKey"])) // 2
    client.split_shard(StreamName="logs", ShardToSplit=parent["ShardId"], NewStartingHashKey=str(middle))
    with open(log, "a") as f:
        f.write("".join(f"line-{n:05d}\n" for n in range(1500, 2000)))
    wait_until(lambda: caught_up(d) and len(stored(d)) >= 2000, 120, what="everything stored after the split")
    got = texts(stored(d))
    assert got == [f"line-{n:05d}" for n in range(2000)], "parents' records first, then the child's, in order"
    shards = {s["shardId"]: s for s in status(d)["streams"][0]["shards"]}
    open_shards = [sid for sid, s in shards.items() if s["open"]]
    assert len(open_shards) == 2 and parent["ShardId"] not in open_shards
    assert sum(shards[sid]["directRecords"] + shards[sid]["drainedRecords"] for sid in open_shards) > 0
    d.stop()


def test_start_at_end_new_files_and_multiline_records(tmp_path):
    source = 'start_at = "end"\nmultiline_start = "^\\\\d{4}-"\nmultiline_flush_ms = 300\nparser = "raw"'
    # *.log* would match the .gz below but for the default exclude list.
    d, logs = gateway(tmp_path, source=source, paths=[f"{tmp_path}/logs/*.log*"])
    (logs / "old.log").write_text("2026-01-01 already here\n")
    d.start()
    time.sleep(1)
    with open(logs / "old.log", "a") as f:
        f.write("2026-11-23 boom\n  at a()\n  at b()\n2026-11-23 next\n")
    (logs / "new.log").write_text("2026-11-23 a new file is read from its start\n")
    (logs / "old.log.gz").write_bytes(b"\x1f\x8b compressed rotations are excluded\n")
    # The last record of old.log has no following start line: the flush timeout emits it.
    wait_until(lambda: len(stored(d)) >= 3, 30, what="three records")
    got = sorted(texts(stored(d)))
    assert got == ["2026-11-23 a new file is read from its start", "2026-11-23 boom\n  at a()\n  at b()", "2026-11-23 next"]
    d.stop()


def test_sigterm_while_blocked_on_a_full_spool_is_clean_and_resumes(tmp_path):
    d, logs = gateway(tmp_path, limits='[limits]\nrecords_per_second = 50\nspool_max_bytes = 1048576\non_full = "block"\n', source='partition_key = "k"')
    total = 3000
    write_kib_lines(logs / "a.log", total)
    d.start()
    wait_until(lambda: status(d)["spool"]["usedBytes"] > 900_000, 30, what="the spool to fill")
    started = time.time()
    d.stop()  # asserts exit code 0
    assert time.time() - started < 30
    d.config.write_text(d.config.read_text().replace("records_per_second = 50", "records_per_second = 1000"))
    d.start()
    wait_until(lambda: caught_up(d), 120, what="everything after the restart")
    got = [r["Data"][:7].decode() for r in stored(d)]
    assert set(got) == {f"{n:07d}" for n in range(total)}
    d.stop()


def test_a_checkpoint_with_extreme_saved_times_is_read_without_a_trap(tmp_path):
    """Checkpoint fields are untrusted bytes: an absurd save time, producer or in-flight flag
    costs at most a wider look-up, never a crash or a lost line."""
    d, logs = gateway(tmp_path, source='name = "app"\npartition_key = "k"')
    (logs / "a.log").write_text("".join(f"line-{n}\n" for n in range(100)))
    d.start()
    wait_until(lambda: caught_up(d) and len(stored(d)) == 100, 60, what="the first lines")
    d.stop()
    path = d.data_dir / "checkpoints" / "app.json"
    doc = json.loads(path.read_text())
    for entry in doc["files"]:
        entry.update(savedAtMillis=-9223372036854775808, producer=18446744073709551615, inFlight=True)
    path.write_text(json.dumps(doc))
    with open(logs / "a.log", "a") as f:
        f.write("".join(f"line-{n}\n" for n in range(100, 150)))
    d.start()
    wait_until(lambda: caught_up(d) and len(stored(d)) >= 150, 60, what="the new lines")
    assert sorted(texts(stored(d))) == sorted(f"line-{n}" for n in range(150))
    d.stop()
