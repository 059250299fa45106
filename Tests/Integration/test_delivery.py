"""Delivery exports end to end with the real sluiced, Firehose's way: `kind = "s3"` into
moto_server's S3 API (read back with boto3, decompressed, every record found where its
prefix says), `kind = "http"` into a receiver written here that checks the Firehose HTTP
endpoint protocol and answers by script, and the Firehose API written to by the aws cli
and boto3."""
import base64
import gzip
import http.server
import json
import os
import subprocess
import threading
import time
from collections import Counter

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Daemon, free_port, read_stream, status, wait_until
from test_exports import Moto


@pytest.fixture
def moto():
    m = Moto()
    yield m
    m.stop()


def s3_client(moto):
    return boto3.client("s3", endpoint_url=moto.endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


def export_status(d, name):
    return next(e for e in status(d)["exports"] if e["name"] == name)


def s3_objects(s3, bucket="lake"):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return sorted(keys)


def s3_daemon(tmp_path, moto, export):
    work = tmp_path / "box"
    work.mkdir(exist_ok=True)
    creds = work / "aws-credentials"
    creds.write_text("[default]\naws_access_key_id = test\naws_secret_access_key = test\n")
    s3_client(moto).create_bucket(Bucket="lake")
    config = (
        '[[streams]]\nname = "events"\nshards = 2\n'
        f'[[exports]]\nname = "to-lake"\nstream = "events"\nkind = "s3"\nbucket = "lake"\nendpoint = "{moto.endpoint}"\n'
        f'credentials_file = "{creds}"\n{export}\n'
    )
    return Daemon(work, config)


def put_json(client, records, stream="events"):
    """PutRecords as a producer does at Kinesis' limits: what is throttled goes again after a backoff."""
    for start in range(0, len(records), 500):
        chunk = records[start:start + 500]
        while chunk:
            out = client.put_records(StreamName=stream, Records=[{"PartitionKey": key, "Data": data} for key, data in chunk])
            chunk = [record for record, result in zip(chunk, out["Records"]) if "ErrorCode" in result]
            if chunk:
                time.sleep(0.25)


def test_s3_partitions_gzip_json_lines_and_errors_land_where_their_prefixes_say(tmp_path, moto):
    d = s3_daemon(tmp_path, moto, 'prefix = "site=!{partitionKeyFromQuery:site}/!{timestamp:yyyy/MM/dd}/"\n'
                                  'partition_keys = { site = "json.device.site" }\nmax_open_partitions = 3\n'
                                  'record_format = "json_lines"\ncompression = "gzip"\nbuffer_seconds = 1\n')
    d.start()
    try:
        records = [(f"dev-{n % 40}", json.dumps({"device": {"site": f"s{n % 5}"}, "n": n}).encode()) for n in range(3000)]
        broken = [(f"dev-{n}", f"not json {n}".encode()) for n in range(20)]
        put_json(d.client(), records + broken)
        wait_until(lambda: export_status(d, "to-lake")["deliveredRecords"] >= 3020, timeout=120, what="records delivered")
        s3 = s3_client(moto)
        keys = s3_objects(s3)
        found, errors = [], []
        for key in keys:
            body = s3.get_object(Bucket="lake", Key=key)["Body"].read()
            assert key.endswith(".gz") and "events-to-lake-" in key.split("/")[-1]
            path = tmp_path / "object.gz"
            path.write_bytes(body)
            subprocess.run(["gzip", "-t", str(path)], check=True)
            for line in gzip.decompress(body).decode().splitlines():
                row = json.loads(line)
                if key.startswith("partitioning-failed/"):
                    errors.append(row)
                    continue
                data = json.loads(base64.b64decode(row["data"]))
                assert key.startswith(f"site={data['device']['site']}/"), f"{key} holds a record of {data['device']['site']}"
                found.append((row["partitionKey"], data["n"]))
        assert sorted(n for _, n in found) == list(range(3000)), "every record exactly once"
        assert sorted(base64.b64decode(e["rawData"]).decode() for e in errors) == sorted(d.decode() for _, d in broken)
        assert {e["errorCode"] for e in errors} == {"DynamicPartitioning.MetadataExtractionFailed"}
        text = d.sluice("status", "--endpoint", d.endpoint).stdout
        assert "export to-lake (events -> s3://lake at " in text and "20 errorRecords" in text, text
        last = next(line for line in text.splitlines() if "last delivered:" in line)
        assert last.split("last delivered: ")[1].split(" (")[0] in keys and "s old)" in last
        print(f"{len(keys)} objects, {len(errors)} error records")
    finally:
        d.stop()


def test_s3_multipart_and_kill9_during_buffering_and_upload_lose_nothing(tmp_path, moto):
    d = s3_daemon(tmp_path, moto, 'buffer_bytes = 6291456\nbuffer_seconds = 2\nmultipart_threshold = 5242880\n'
                                  'multipart_part_bytes = 5242880\ndelimiter = "newline"\n')
    d.start()
    s3 = s3_client(moto)
    sent = []
    crashes = 0
    try:
        client = d.client()
        for wave in range(3):
            batch = [(f"k{n % 16}", (f"{wave}-{n}-" + "x" * 8000).encode()) for n in range(1000)]
            put_json(client, batch)
            sent += [data.decode() for _, data in batch]
            # Kill while an object is being put (wave 1) or while records only sit in the buffer.
            if wave == 1:
                wait_until(lambda: export_status(d, "to-lake")["statistics"].get("objects", 0) >= 1, timeout=60, what="an upload")
            d.kill9()
            crashes += 1
            d.start()
            client = d.client()
        wait_until(lambda: export_status(d, "to-lake")["consumer"]["shards"] and
                   all(s["recordsBehind"] == 0 for s in export_status(d, "to-lake")["consumer"]["shards"]),
                   timeout=180, what="the export caught up")
    finally:
        d.stop()
    lines = []
    for key in s3_objects(s3):
        lines += s3.get_object(Bucket="lake", Key=key)["Body"].read().decode().splitlines()
    counts = Counter(lines)
    assert set(counts) == set(sent), "nothing lost"
    repeated = sum(c - 1 for c in counts.values())
    # At most what was buffered or being put per crash: one buffer per shard and output.
    assert repeated <= crashes * 2 * (6291456 // 8000 + 1), f"{repeated} repeats"
    assert s3.list_multipart_uploads(Bucket="lake").get("Uploads", []) == [], "unfinished uploads are aborted at start"
    print(f"{len(lines)} lines, {repeated} repeated after {crashes} kill -9")


class Receiver:
    """A Firehose HTTP endpoint: checks every request and answers by `script` (one entry
    per request, then `ok`): ok, 500, garbage, wrong-id, 413, silence."""

    def __init__(self, script=(), port=None, access_key="k3y-from-file"):
        self.script = list(script)
        self.requests = []
        self.accepted = {}
        self.problems = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
                request = json.loads(body)
                header_id = self.headers["X-Amz-Firehose-Request-Id"]
                checks = {
                    "protocol version": self.headers["X-Amz-Firehose-Protocol-Version"] == "1.0",
                    "request id header = body": header_id == request["requestId"],
                    "access key": self.headers["X-Amz-Firehose-Access-Key"] == access_key,
                    "common attributes": json.loads(self.headers["X-Amz-Firehose-Common-Attributes"]) == {"commonAttributes": {"site": "plant-7", "env": "edge"}},
                    "gzip": self.headers.get("Content-Encoding") == "gzip" and raw[:2] == b"\x1f\x8b",
                    "records": 1 <= len(request["records"]) <= 10000 and isinstance(request["timestamp"], int),
                }
                with receiver.lock:
                    receiver.problems += [name for name, ok in checks.items() if not ok]
                    receiver.requests.append(header_id)
                    action = receiver.script.pop(0) if receiver.script else "ok"
                if action == "silence":
                    time.sleep(4)
                    return
                if action == "ok":
                    with receiver.lock:
                        receiver.accepted[header_id] = [base64.b64decode(r["data"]).decode() for r in request["records"]]
                    self.reply(200, json.dumps({"requestId": header_id, "timestamp": int(time.time() * 1000)}))
                elif action == "wrong-id":
                    self.reply(200, json.dumps({"requestId": "someone-else", "timestamp": 0}))
                elif action == "garbage":
                    self.reply(200, "<html>proxy error</html>")
                else:
                    self.reply(int(action), json.dumps({"requestId": header_id, "errorMessage": "scripted"}))

            def reply(self, code, text):
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.port = port or free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def records(self):
        with self.lock:
            return [r for rows in self.accepted.values() for r in rows]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def http_daemon(tmp_path, port, extra=""):
    work = tmp_path / "box"
    work.mkdir(exist_ok=True)
    (work / "access-key").write_text("k3y-from-file\n")
    backup = work / "backup"
    backup.mkdir(exist_ok=True)
    config = (
        '[[streams]]\nname = "events"\nshards = 1\n'
        f'[[exports]]\nname = "to-vendor"\nstream = "events"\nkind = "http"\nurl = "http://127.0.0.1:{port}/ingest"\n'
        f'access_key_file = "{work}/access-key"\ncommon_attributes = {{ site = "plant-7", env = "edge" }}\n'
        f'content_encoding = "gzip"\nbuffer_seconds = 1\ntimeout_seconds = 2\n{extra}\n'
        f'[exports.backup_store]\nkind = "files"\ndirectory = "{backup}"\n'
    )
    return Daemon(work, config), backup


def error_rows(directory, kind):
    rows = []
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and path.relative_to(directory).parts[0] == kind:
            rows += [json.loads(line) for line in path.read_text().splitlines()]
    return rows


def test_http_endpoint_retries_by_script_keeps_request_ids_and_sends_413_to_errors(tmp_path):
    receiver = Receiver(script=["500", "garbage", "wrong-id", "silence", "ok", "413"])
    d, backup = http_daemon(tmp_path, receiver.port, 'retry_seconds = 60\n')
    d.start()
    try:
        client = d.client()
        first = [f"first-{n}" for n in range(100)]
        put_json(client, [("k", t.encode()) for t in first])
        wait_until(lambda: sorted(receiver.records()) == sorted(first), timeout=90, what="the first batch after 4 failed attempts")
        with receiver.lock:
            attempts = list(receiver.requests)
        assert len(attempts) == 5 and len(set(attempts)) == 1, "one request id on every retry of a batch"
        refused = [f"refused-{n}" for n in range(50)]
        put_json(client, [("k", t.encode()) for t in refused])
        wait_until(lambda: len(error_rows(backup, "http-endpoint-failed")) == 50, timeout=60, what="413 records in the error output")
        rows = error_rows(backup, "http-endpoint-failed")
        assert sorted(base64.b64decode(r["rawData"]).decode() for r in rows) == sorted(refused)
        assert {r["errorCode"] for r in rows} == {"HttpEndpoint.RequestEntityTooLarge"} and {r["attemptsMade"] for r in rows} == {1}
        last = [f"last-{n}" for n in range(30)]
        put_json(client, [("k", t.encode()) for t in last])
        wait_until(lambda: sorted(receiver.records()) == sorted(first + last), timeout=60, what="delivery after the 413")
        assert receiver.problems == [], receiver.problems
        wait_until(lambda: export_status(d, "to-vendor")["deliveredRecords"] == 180, timeout=30, what="all committed")
    finally:
        d.stop()
        receiver.stop()


def test_http_endpoint_down_for_60_seconds_then_everything_arrives_once(tmp_path):
    port = free_port()
    d, backup = http_daemon(tmp_path, port, 'retry_seconds = 600\n')
    d.start()
    receiver = None
    try:
        sent = [f"r-{n}" for n in range(400)]
        put_json(d.client(), [(f"k{n % 7}", t.encode()) for n, t in enumerate(sent)])
        down_since = time.time()
        wait_until(lambda: (export_status(d, "to-vendor").get("lastError") or "").find("ConnectionFailed") >= 0, timeout=30, what="a refused connection")
        time.sleep(max(0, 60 - (time.time() - down_since)))  # the outage itself, not a wait for an event
        receiver = Receiver(port=port)
        wait_until(lambda: len(receiver.records()) >= 400, timeout=150, what="delivery after the outage")
        assert sorted(receiver.records()) == sorted(sent)
        assert error_rows(backup, "http-endpoint-failed") == []
        assert receiver.problems == [], receiver.problems
    finally:
        d.stop()
        if receiver:
            receiver.stop()


def firehose(d, *args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1", AWS_MAX_ATTEMPTS="1")
    result = subprocess.run(["aws", "--endpoint-url", d.endpoint, "firehose", *args], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def test_firehose_api_for_the_aws_cli_and_boto3_with_a_transform_on_the_way_out(tmp_path):
    work = tmp_path / "box"
    work.mkdir()
    out = work / "out"
    out.mkdir()
    transform = work / "upper.py"
    transform.write_text(
        "import base64, json, sys\n"
        "event = json.load(sys.stdin)\n"
        "out = [{'recordId': r['recordId'], 'result': 'Dropped' if base64.b64decode(r['data']).startswith(b'drop') else 'Ok',\n"
        "        'data': base64.b64encode(base64.b64decode(r['data']).upper()).decode()} for r in event['records']]\n"
        "json.dump({'records': out}, sys.stdout)\n")
    d = Daemon(work, '[[streams]]\nname = "logs"\nshards = 1\n'
                     f'[[exports]]\nname = "to-disk"\nstream = "logs"\nkind = "files"\ndirectory = "{out}"\n'
                     f'delimiter = "newline"\nbuffer_seconds = 1\ntransform_command = ["/usr/bin/python3", "{transform}"]\n')
    d.start()
    try:
        # The aws cli: a configured delivery stream is listed and described; put-record-batch goes out through it.
        assert firehose(d, "list-delivery-streams")["DeliveryStreamNames"] == ["to-disk"]
        described = firehose(d, "describe-delivery-stream", "--delivery-stream-name", "to-disk")["DeliveryStreamDescription"]
        assert described["DeliveryStreamType"] == "KinesisStreamAsSource" and described["DeliveryStreamStatus"] == "ACTIVE"
        answer = firehose(d, "put-record-batch", "--delivery-stream-name", "to-disk",
                          "--records", json.dumps([{"Data": "cli-one"}, {"Data": "cli-two"}, {"Data": "drop-me"}]))
        assert answer["FailedPutCount"] == 0 and len(answer["RequestResponses"]) == 3
        fh = boto3.client("firehose", endpoint_url=d.endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
        assert fh.put_record(DeliveryStreamName="to-disk", Record={"Data": b"boto-one"})["RecordId"]
        batch = fh.put_record_batch(DeliveryStreamName="to-disk", Records=[{"Data": f"boto-{n}".encode()} for n in range(2, 402)])
        assert batch["FailedPutCount"] == 0
        expected = ["CLI-ONE", "CLI-TWO", "BOTO-ONE"] + [f"BOTO-{n}" for n in range(2, 402)]
        wait_until(lambda: sorted(line for p in out.rglob("*") if p.is_file() for line in p.read_text().splitlines()) == sorted(expected),
                   timeout=60, what="the transformed records in files")
        # DirectPut through the API: a local stream of that name, readable with Kinesis too.
        arn = fh.create_delivery_stream(DeliveryStreamName="direct", DeliveryStreamType="DirectPut")["DeliveryStreamARN"]
        assert arn.endswith(":deliverystream/direct")
        fh.put_record_batch(DeliveryStreamName="direct", Records=[{"Data": f"d{n}".encode()} for n in range(10)])
        stored = [r["Data"].decode() for rows in read_stream(d.client(), "direct").values() for r in rows]
        assert sorted(stored) == sorted(f"d{n}" for n in range(10))
        assert fh.list_delivery_streams(DeliveryStreamType="DirectPut")["DeliveryStreamNames"] == ["direct"]
        # AWS's errors.
        for call, code in [
            (lambda: fh.put_record_batch(DeliveryStreamName="to-disk", Records=[{"Data": b"x"}] * 501), "ValidationException"),
            (lambda: fh.put_record(DeliveryStreamName="nowhere", Record={"Data": b"x"}), "ResourceNotFoundException"),
            (lambda: fh.put_record(DeliveryStreamName="to-disk", Record={"Data": b"x" * 1_024_001}), "InvalidArgumentException"),
            (lambda: fh.create_delivery_stream(DeliveryStreamName="direct"), "ResourceInUseException"),
            (lambda: fh.create_delivery_stream(DeliveryStreamName="d2", S3DestinationConfiguration={"RoleARN": "arn:aws:iam::1:role/r", "BucketARN": "arn:aws:s3:::b"}),
             "InvalidArgumentException"),
            (lambda: fh.delete_delivery_stream(DeliveryStreamName="to-disk"), "InvalidArgumentException"),
        ]:
            with pytest.raises(ClientError) as raised:
                call()
            assert raised.value.response["Error"]["Code"] == code
        fh.delete_delivery_stream(DeliveryStreamName="direct")
        assert fh.list_delivery_streams()["DeliveryStreamNames"] == ["to-disk"]
        metrics = urllib_get(d.endpoint + "/metrics")
        assert "IncomingRecords" in metrics and "ExecuteProcessing" in metrics and "DeliveryToFiles" in metrics
    finally:
        d.stop()


def urllib_get(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()
