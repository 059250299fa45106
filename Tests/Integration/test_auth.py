"""Access control on the API: SigV4 verified against a credentials file, per-key
policies, clock skew; boto3 and the aws cli as clients, the real sluiced as server."""
import datetime
import json
import os
import subprocess
import urllib.request
from unittest import mock

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from conftest import Daemon, read_shard

KEYS = """
[[keys]]
access_key_id = "edge-writer"
secret_access_key = "writer-secret-0123456789"
actions = ["PutRecord", "PutRecords", "Describe*", "List*"]
streams = ["s1"]

[[keys]]
access_key_id = "edge-reader"
secret_access_key = "reader-secret-0123456789"
actions = ["Get*", "Describe*", "List*"]
streams = ["*"]
"""


@pytest.fixture
def secured(tmp_path):
    keys = tmp_path / "api-keys.toml"
    keys.write_text(KEYS)
    keys.chmod(0o600)
    d = Daemon(tmp_path, f'[auth]\ncredentials_file = "{keys}"\n'
                         '[[streams]]\nname = "s1"\nshards = 1\n[[streams]]\nname = "s2"\nshards = 1\n').start()
    yield d
    d.stop()


def client(d, key, secret):
    return boto3.client("kinesis", endpoint_url=d.endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


def error_code(call):
    with pytest.raises(Exception) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def count(d, stream):
    reader = client(d, "edge-reader", "reader-secret-0123456789")
    return len(read_shard(reader, stream, "shardId-000000000000"))


def test_configured_key_works_and_policies_hold(secured):
    writer = client(secured, "edge-writer", "writer-secret-0123456789")
    writer.put_record(StreamName="s1", PartitionKey="k", Data=b"allowed")
    writer.put_records(StreamName="s1", Records=[{"PartitionKey": "k", "Data": b"also"}])
    assert writer.describe_stream_summary(StreamName="s1")["StreamDescriptionSummary"]["StreamName"] == "s1"
    assert count(secured, "s1") == 2
    # Denied: an action outside the policy, a stream outside it, reading with a writer key.
    code, message = error_code(lambda: writer.delete_stream(StreamName="s1"))
    assert code == "AccessDeniedException" and "kinesis:DeleteStream" in message and "stream/s1" in message
    assert error_code(lambda: writer.put_record(StreamName="s2", PartitionKey="k", Data=b"no"))[0] == "AccessDeniedException"
    it = client(secured, "edge-reader", "reader-secret-0123456789").get_shard_iterator(
        StreamName="s1", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert error_code(lambda: writer.get_records(ShardIterator=it))[0] == "AccessDeniedException"
    # Nothing changed.
    assert count(secured, "s1") == 2 and count(secured, "s2") == 0
    assert "s1" in client(secured, "edge-reader", "reader-secret-0123456789").list_streams()["StreamNames"]


def test_unknown_key_and_bad_secret_are_refused_and_change_nothing(secured):
    code, _ = error_code(lambda: client(secured, "nobody", "whatever-secret-000").put_record(StreamName="s1", PartitionKey="k", Data=b"x"))
    assert code == "UnrecognizedClientException"
    code, message = error_code(lambda: client(secured, "edge-writer", "not-the-secret-000").put_record(StreamName="s1", PartitionKey="k", Data=b"x"))
    assert code == "InvalidSignatureException" and "signature" in message
    assert count(secured, "s1") == 0
    log = secured.log.read_text()
    assert "API request refused" in log and "not-the-secret" not in log and "writer-secret" not in log


def test_unsigned_and_stale_requests_are_refused(secured):
    body = json.dumps({"StreamName": "s1", "PartitionKey": "k", "Data": "eA=="}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.PutRecord"}

    def send(extra):
        request = urllib.request.Request(secured.endpoint + "/", data=body, headers={**headers, **extra}, method="POST")
        try:
            urllib.request.urlopen(request, timeout=5)
        except urllib.error.HTTPError as e:
            return json.loads(e.read())["__type"], e.code
        return "ok", 200

    assert send({})[0] == "MissingAuthenticationTokenException"
    # Signed correctly by botocore, but 20 minutes ago (a replay).
    stale = AWSRequest(method="POST", url=secured.endpoint + "/", data=body, headers=dict(headers))
    then = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=20)
    with mock.patch.object(botocore.auth.datetime, "datetime", wraps=datetime.datetime) as clock:
        clock.utcnow.return_value = then
        clock.now.return_value = then
        botocore.auth.SigV4Auth(Credentials("edge-writer", "writer-secret-0123456789"), "kinesis", "us-east-1").add_auth(stale)
    code, status = send({k: v for k, v in stale.headers.items() if k in ("Authorization", "X-Amz-Date")})
    assert code == "InvalidSignatureException"
    assert count(secured, "s1") == 0


def test_aws_cli_with_a_configured_key(secured):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="edge-writer", AWS_SECRET_ACCESS_KEY="writer-secret-0123456789",
               AWS_DEFAULT_REGION="us-east-1")
    import subprocess
    ok = subprocess.run(["aws", "--endpoint-url", secured.endpoint, "kinesis", "put-record", "--stream-name", "s1",
                         "--partition-key", "k", "--data", "aGk="], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    denied = subprocess.run(["aws", "--endpoint-url", secured.endpoint, "kinesis", "delete-stream", "--stream-name", "s1"],
                            env=env, capture_output=True, text=True)
    assert denied.returncode != 0 and "AccessDeniedException" in denied.stderr


def test_listening_beyond_loopback_needs_auth_and_a_private_key_file(tmp_path):
    d = Daemon(tmp_path, "")
    d.config.write_text(f'data_dir = "{d.data_dir}"\n[api]\nlisten = "0.0.0.0:{d.port}"\n')
    _, err = d.start_failing()
    assert "[api] listen" in err and "[auth]" in err and "allow_unauthenticated" in err
    keys = tmp_path / "keys.toml"
    keys.write_text(KEYS)
    keys.chmod(0o644)
    d.config.write_text(f'data_dir = "{d.data_dir}"\n[api]\nlisten = "0.0.0.0:{d.port}"\n[auth]\ncredentials_file = "{keys}"\n')
    _, err = d.start_failing()
    assert "chmod 600" in err and str(keys) in err
    d.config.write_text(f'data_dir = "{d.data_dir}"\n[api]\nlisten = "0.0.0.0:{d.port}"\nallow_unauthenticated = true\n')
    d.start()
    d.stop()


def test_tls_listener_with_auth(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "api.key", "-out", "api.pem",
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   cwd=tmp_path, check=True, capture_output=True)
    keys = tmp_path / "api-keys.toml"
    keys.write_text(KEYS)
    keys.chmod(0o600)
    d = Daemon(tmp_path, f'[auth]\ncredentials_file = "{keys}"\n[[streams]]\nname = "s1"\nshards = 1\n', scheme="https")
    d.config.write_text(d.config.read_text().replace(
        "[api]\n", f'[api]\ntls_cert_file = "{tmp_path}/api.pem"\ntls_key_file = "{tmp_path}/api.key"\n'))
    d.start()
    try:
        writer = boto3.client("kinesis", endpoint_url=d.endpoint, region_name="us-east-1", aws_access_key_id="edge-writer",
                              aws_secret_access_key="writer-secret-0123456789", verify=str(tmp_path / "api.pem"),
                              config=Config(retries={"max_attempts": 1}))
        writer.put_record(StreamName="s1", PartitionKey="k", Data=b"over tls")
        assert writer.describe_stream_summary(StreamName="s1")["StreamDescriptionSummary"]["StreamName"] == "s1"
        plain = d.endpoint.replace("https://", "http://")
        with pytest.raises(Exception):
            urllib.request.urlopen(plain + "/health", timeout=3)
    finally:
        d.stop()
