"""`sluiced --check-config` refuses exactly what the start refuses, in the same words,
without touching the data directory or the port."""
import os
import subprocess

import pytest

from conftest import BIN, Daemon


def check_config(d):
    return subprocess.run([str(BIN / "sluiced"), "--config", str(d.config), "--check-config"],
                          capture_output=True, text=True, timeout=60, env=d.env)


def make_key(path):
    subprocess.run([str(BIN / "sluice"), "keys", "init", "--key-file", str(path)], check=True, capture_output=True)


def open_key(tmp):
    make_key(tmp / "open.key")
    os.chmod(tmp / "open.key", 0o644)
    return f'[encryption]\nkey_file = "{tmp}/open.key"\n', "chmod 600"


def junk_key(tmp):
    (tmp / "junk.key").write_bytes(os.urandom(64))
    os.chmod(tmp / "junk.key", 0o600)
    return f'[encryption]\nkey_file = "{tmp}/junk.key"\n', "junk.key"


# Each: (config added after [api], words both refusals must carry).
CASES = {
    "file source to an undeclared stream": lambda tmp: (
        f'[[sources.file]]\nstream = "nowhere"\npaths = ["{tmp}/x.log"]\n', "does not exist"),
    "missing key file": lambda tmp: (f'[encryption]\nkey_file = "{tmp}/absent.key"\n', "absent.key"),
    "key file mode 0644": open_key,
    "key file with garbage": junk_key,
    "TLS certificate missing": lambda tmp: (
        f'tls_cert_file = "{tmp}/none.pem"\ntls_key_file = "{tmp}/none.key"\n', "none.pem"),
    "export of an undeclared stream": lambda tmp: (export(tmp, 'stream = "nowhere"\nkind = "kinesis"\n'), "does not exist"),
    "export without a kind": lambda tmp: (export(tmp, 'stream = "s"\n'), "kind is required"),
    "export named like a path": lambda tmp: (export(tmp, 'stream = "s"\nkind = "kinesis"\n', name="../x"), "[a-zA-Z0-9_.-]"),
    "export credentials missing": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[exports]]\nname = "e"\nstream = "s"\nkind = "kinesis"\n'
        f'credentials_file = "{tmp}/absent-credentials"\n', "absent-credentials"),
    "max_bytes below four segments": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\nmax_bytes = 1000\n', "less than 4 segments"),
    "files export with a prefix leaving its directory": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[exports]]\nname = "f"\nstream = "s"\nkind = "files"\n'
        f'directory = "{tmp}/out"\nprefix = "../up/"\n', "no . or .. component"),
    "files export with a relative directory": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[exports]]\nname = "f"\nstream = "s"\nkind = "files"\ndirectory = "out"\n',
        "use an absolute path"),
    "a kinesis key on a files export": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[exports]]\nname = "f"\nstream = "s"\nkind = "files"\n'
        f'directory = "{tmp}/out"\nregion = "eu-west-1"\n', "region"),
    "partition key not used in the prefix": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[exports]]\nname = "f"\nstream = "s"\nkind = "files"\n'
        f'directory = "{tmp}/out"\npartition_keys = {{ site = "json.site" }}\n', "is not used in prefix"),
    "prefix naming an unknown partition key": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[exports]]\nname = "f"\nstream = "s"\nkind = "files"\n'
        f'directory = "{tmp}/out"\nprefix = "!{{partitionKeyFromQuery:site}}/"\n', "names no key of partition_keys"),
    "s3 export with a bucket name that is not one": lambda tmp: (export(tmp, 'stream = "s"\nkind = "s3"\nbucket = "Bad_Bucket"\n'), "is not a bucket name"),
    "http export with its access key file missing": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[exports]]\nname = "h"\nstream = "s"\nkind = "http"\n'
        f'url = "http://127.0.0.1:9/"\naccess_key_file = "{tmp}/no-key"\n', "no-key"),
    "http export transform without a backup": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[exports]]\nname = "h"\nstream = "s"\nkind = "http"\n'
        'url = "http://127.0.0.1:9/"\ntransform_command = ["/bin/cat"]\n', "need [exports.backup_store]"),
    "transform command by a relative path": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[exports]]\nname = "f"\nstream = "s"\nkind = "files"\n'
        f'directory = "{tmp}/out"\ntransform_command = "transform.py"\n', "absolute path"),
    "function of an undeclared stream": lambda tmp: (
        '[[functions]]\nname = "f"\nstream = "nowhere"\ncommand = "/bin/cat"\nstarting_position = "LATEST"\n', "does not exist"),
    "function without a starting position": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[functions]]\nname = "f"\nstream = "s"\ncommand = "/bin/cat"\n',
        "starting_position is required"),
    "function on_failure to an undeclared stream": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[functions]]\nname = "f"\nstream = "s"\ncommand = "/bin/cat"\n'
        'starting_position = "LATEST"\non_failure = "gone"\n', "stream \"gone\" does not exist"),
    "function record age below Lambda's minimum": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[functions]]\nname = "f"\nstream = "s"\ncommand = "/bin/cat"\n'
        'starting_position = "LATEST"\nmaximum_record_age_seconds = 30\n', "use -1 (no limit) or 60...604800"),
    "function with a bad filter pattern": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[functions]]\nname = "f"\nstream = "s"\ncommand = "/bin/cat"\n'
        'starting_position = "LATEST"\nfilter_criteria = [\'{"data": {"t": [{"numeric": ["!", 1]}]}}\']\n', "numeric comparisons are"),
    "function on_failure to an unknown export": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[functions]]\nname = "f"\nstream = "s"\ncommand = "/bin/cat"\n'
        'starting_position = "LATEST"\non_failure = { export = "nowhere" }\n', "no [[exports]] entry is named"),
    "function with both command and url": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[functions]]\nname = "f"\nstream = "s"\ncommand = "/bin/cat"\n'
        'url = "http://127.0.0.1:9/"\nstarting_position = "LATEST"\n', "not both"),
    "function command that is not there": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\n[[functions]]\nname = "f"\nstream = "s"\n'
        f'command = "{tmp}/missing.py"\nstarting_position = "LATEST"\n', "is not an executable file"),
    "on_full without max_bytes": lambda tmp: (
        '[[streams]]\nname = "s"\nshards = 1\non_full = "drop_oldest"\n', "applies with max_bytes only"),
}


def export(tmp, body, name="e"):
    """A declared stream `s` and one [[exports]] entry with working credentials."""
    (tmp / "creds").write_text("[default]\naws_access_key_id = a\naws_secret_access_key = b\n")
    return (f'[[streams]]\nname = "s"\nshards = 1\n[[exports]]\nname = "{name}"\n{body}'
            f'credentials_file = "{tmp}/creds"\n')


@pytest.mark.parametrize("case", list(CASES))
def test_check_config_refuses_what_the_start_refuses_in_the_same_words(tmp_path, case):
    extra, words = CASES[case](tmp_path)
    d = Daemon(tmp_path, extra)
    checked = check_config(d)
    assert checked.returncode != 0, f"--check-config said OK:\n{checked.stdout}"
    _, started = d.start_failing()
    assert words in checked.stderr and words in started, (checked.stderr, started)
    first_line = lambda text: next(line for line in text.splitlines() if words in line)
    assert first_line(checked.stderr).split("Error: ")[-1] == first_line(started).split("Error: ")[-1]
    assert not d.data_dir.exists(), "--check-config or a refused start touched data_dir"


def test_check_config_accepts_a_stream_created_earlier_through_the_api(tmp_path):
    d = Daemon(tmp_path).start()
    d.client().create_stream(StreamName="made-by-api", ShardCount=1)
    d.stop()
    d.config.write_text(d.config.read_text() + f'[[sources.file]]\nstream = "made-by-api"\npaths = ["{tmp_path}/x.log"]\n')
    checked = check_config(d)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip().endswith("OK")
