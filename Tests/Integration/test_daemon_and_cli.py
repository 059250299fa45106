"""sluiced's config handling and the sluice command-line tool."""
import json
import subprocess

from conftest import BIN, Daemon


def test_streams_listed_in_the_config_are_created(tmp_path):
    daemon = Daemon(tmp_path, extra_config='[[streams]]\nname = "telemetry"\nshards = 4\nretention_hours = 48\n').start()
    summary = daemon.client().describe_stream_summary(StreamName="telemetry")["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 4 and summary["RetentionPeriodHours"] == 48
    daemon.stop()
    daemon.start()  # a second start finds the stream and leaves it alone
    assert daemon.client().list_streams()["StreamNames"] == ["telemetry"]
    daemon.stop()


def run_sluiced(config_text, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(config_text)
    return subprocess.run([str(BIN / "sluiced"), "--config", str(config)], capture_output=True, text=True, timeout=30)


def test_bad_config_is_refused_naming_file_and_key(tmp_path):
    cases = {
        'data_dir = "/tmp/x"\ndata_dri = "/tmp/y"\n': "data_dri: unknown key",
        '[api]\nlisten = "localhost"\n': "[api] listen",
        '[[streams]]\nname = "s"\nshards = 0\n': "shards: 0 is out of range",
        '[[streams]]\nname = "s"\n': "shards is required",
        '[storage]\nfsync = "sometimes"\n': "[storage] fsync",
        'data_dir = \n': "not valid TOML",
    }
    for text, expected in cases.items():
        result = run_sluiced(text, tmp_path)
        assert result.returncode != 0, text
        assert "bad.toml" in result.stderr and expected in result.stderr, (text, result.stderr)
    missing = subprocess.run([str(BIN / "sluiced"), "--config", str(tmp_path / "none.toml")], capture_output=True, text=True)
    assert missing.returncode != 0 and "none.toml" in missing.stderr


def test_sluice_cli_end_to_end(daemon):
    ep = ["--endpoint", daemon.endpoint]
    daemon.sluice("streams", "create", "cli", "--shards", "2", *ep)
    assert "cli" in daemon.sluice("streams", "list", *ep).stdout
    described = json.loads(daemon.sluice("streams", "describe", "cli", "--json", *ep).stdout)
    assert len(described["Shards"]) == 2

    one = json.loads(daemon.sluice("put", "cli", "--partition-key", "user1", "user signup", "--json", *ep).stdout)
    assert one["ShardId"] == "shardId-000000000000"
    lines = "".join(f"line {n}\n" for n in range(2500))
    out = daemon.sluice("put", "cli", "--partition-key", "host-a", *ep, input=lines).stdout
    assert "put 2500 records" in out

    records = [json.loads(l) for l in daemon.sluice("read", "cli", "--json", *ep).stdout.splitlines()]
    host_a = [r["Data"] for r in records if r["PartitionKey"] == "host-a"]
    assert host_a == [f"line {n}" for n in range(2500)], "stdin lines in order, none lost to throttling"
    assert any(r["Data"] == "user signup" for r in records)

    seq = one["SequenceNumber"]
    from_seq = daemon.sluice("read", "cli", "--shard", "0", "--from", seq, "--max", "1", "--json", *ep).stdout
    assert json.loads(from_seq)["Data"] == "user signup"

    missing = daemon.sluice("put", "nope", "--partition-key", "k", "x", *ep, check=False)
    assert missing.returncode == 1 and "ResourceNotFoundException" in missing.stderr

    daemon.stop()
    verify = daemon.sluice("verify", str(daemon.data_dir))
    assert "2501 records" in verify.stdout and verify.stdout.strip().endswith("OK")


def test_sluice_reports_an_unreachable_endpoint(tmp_path):
    result = subprocess.run([str(BIN / "sluice"), "streams", "list", "--endpoint", "http://127.0.0.1:1"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "cannot reach http://127.0.0.1:1" in result.stderr
