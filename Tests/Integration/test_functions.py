"""Functions end to end with the real sluiced and real handler programs: Lambda's event
source mapping semantics for Kinesis (parallelization, bisection, partial batch
responses, filters, tumbling windows, retries and on_failure, timeouts, crashes, garbage
answers, kill -9 of sluiced), an unchanged Lambda Python handler through the shipped
runner, and an HTTP handler."""
import base64
import http.server
import json
import os
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict

from conftest import ROOT, Daemon, read_stream, status, wait_until
from test_delivery import put_json

PYTHON = sys.executable
RUNNER = ROOT / "runners" / "python" / "sluice_lambda_runner.py"

# A handler that appends one JSON line per call to $OUT: the records it got, when, and the
# event's other fields; then answers what $ANSWER_MODULE's answer(event, calls) says (or
# nothing). Each call sees how often each sequence number was seen before ($OUT).
HANDLER = r'''
import json, os, sys, time, base64, fcntl
event = json.load(sys.stdin)
start = time.time()
out = os.environ["OUT"]
records = [r["kinesis"] for r in event["Records"]]
seen = {}
if os.path.exists(out):
    with open(out) as f:
        for line in f:
            for s in json.loads(line)["seqs"]:
                seen[s] = seen.get(s, 0) + 1
answer = None
code = 0
exec(open(os.environ["SCRIPT"]).read())
with open(out, "a") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    f.write(json.dumps({"keys": [r["partitionKey"] for r in records], "seqs": [r["sequenceNumber"] for r in records],
                        "data": [base64.b64decode(r["data"]).decode() for r in records], "start": start, "end": time.time(),
                        "code": code, "event": {k: v for k, v in event.items() if k != "Records"}}) + "\n")
if answer is not None:
    sys.stdout.write(json.dumps(answer))
sys.exit(code)
'''


def handler_files(tmp_path, script):
    """The handler program and its per-test script; returns (command, output file)."""
    program = tmp_path / "handler.py"
    program.write_text(HANDLER)
    (tmp_path / "script.py").write_text(script)
    return [PYTHON, str(program)], tmp_path / "calls.jsonl"


def calls(out):
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def function_daemon(tmp_path, script, function, streams='[[streams]]\nname = "events"\nshards = 1\n'):
    command, out = handler_files(tmp_path, script)
    work = tmp_path / "box"
    work.mkdir(exist_ok=True)
    config = (
        f'{streams}[[streams]]\nname = "fn-failures"\nshards = 1\n'
        f'[[functions]]\nname = "fn"\nstream = "events"\ncommand = {json.dumps(command)}\nstarting_position = "TRIM_HORIZON"\n'
        f'environment = {{ OUT = "{out}", SCRIPT = "{tmp_path / "script.py"}" }}\n{function}\n'
    )
    return Daemon(work, config), out


def function_status(d, name="fn"):
    return next(f for f in status(d)["functions"] if f["name"] == name)


def caught_up(d, name="fn"):
    f = function_status(d, name)
    return all(s["recordsBehind"] == 0 for s in f["consumer"]["shards"])


def failure_records(d):
    return [json.loads(r["Data"]) for shard in read_stream(d.client(), "fn-failures").values() for r in shard]


def test_parallelization_runs_keys_side_by_side_and_each_key_in_order(tmp_path):
    d, out = function_daemon(tmp_path, "time.sleep(0.05)\n", "batch_size = 20\nparallelization_factor = 4\n")
    d.start()
    try:
        records = [(f"device-{n % 30}", json.dumps({"n": n}).encode()) for n in range(1200)]
        put_json(d.client(), records, stream="events")
        wait_until(lambda: function_status(d)["succeededRecords"] >= 1200 and caught_up(d), timeout=180, what="every record processed")
        made = calls(out)
        by_key = defaultdict(list)
        for call in made:
            for key, data in zip(call["keys"], call["data"]):
                by_key[key].append(json.loads(data)["n"])
        assert sum(len(v) for v in by_key.values()) == 1200
        for key, ns in by_key.items():
            assert ns == sorted(ns), f"{key} out of order"
        # Calls overlapping in time never share a key; some did overlap (lanes ran side by side).
        overlapped = 0
        for i, a in enumerate(made):
            for b in made[i + 1:]:
                if a["start"] < b["end"] and b["start"] < a["end"]:
                    overlapped += 1
                    assert not set(a["keys"]) & set(b["keys"]), "one key in two batches at once"
        assert overlapped > 0
        assert all(len(c["keys"]) <= 20 for c in made)
    finally:
        d.stop()


def test_bisection_isolates_a_poison_record_and_on_failure_gets_it_alone(tmp_path):
    script = "code = 1 if any(base64.b64decode(r['data']) == b'poison' for r in records) else 0\n"
    d, out = function_daemon(tmp_path, script, "batch_size = 16\nbisect_batch_on_function_error = true\n"
                                               "maximum_retry_attempts = 1\non_failure = \"fn-failures\"\n")
    d.start()
    try:
        client = d.client()
        data = [b"poison" if n == 11 else json.dumps({"n": n}).encode() for n in range(16)]
        put_json(client, [("k", x) for x in data], stream="events")
        poison_seq = [r for r in read_stream(client, "events")["shardId-000000000000"] if r["Data"] == b"poison"][0]["SequenceNumber"]
        wait_until(lambda: failure_records(d), timeout=60, what="a failure record")
        wait_until(lambda: caught_up(d), timeout=30, what="the position past the poison record")
        ok = [x for c in calls(out) if c["code"] == 0 for x in c["data"]]
        assert sorted(ok) == sorted(x.decode() for x in data if x != b"poison")
        [failure] = failure_records(d)
        info = failure["KinesisBatchInfo"]
        assert info["batchSize"] == 1 and info["startSequenceNumber"] == poison_seq == info["endSequenceNumber"]
        assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert failure["requestContext"]["approximateInvokeCount"] == 2
        alone = [c for c in calls(out) if c["data"] == ["poison"]]
        assert len(alone) == 2
        assert function_status(d)["droppedRecords"] == 1
    finally:
        d.stop()


def test_partial_batch_response_retries_from_the_first_failed_record(tmp_path):
    # Records whose data starts with "flaky" fail the first time they are seen.
    script = ("answer = {'batchItemFailures': [{'itemIdentifier': r['sequenceNumber']} for r in records "
              "if base64.b64decode(r['data']).startswith(b'flaky') and r['sequenceNumber'] not in seen]}\n")
    d, out = function_daemon(tmp_path, script, 'batch_size = 10\nfunction_response_types = ["ReportBatchItemFailures"]\n')
    d.start()
    try:
        data = [f"flaky-{n}" if n in (3, 6) else f"fine-{n}" for n in range(10)]
        put_json(d.client(), [("k", x.encode()) for x in data], stream="events")
        wait_until(lambda: caught_up(d) and function_status(d)["succeededRecords"] >= 10, timeout=60, what="all records done")
        made = calls(out)
        # First call: all ten, failing 3 and 6 -> retried from 3 (6 included: seen once
        # now, it succeeds too).
        assert [c["data"] for c in made] == [data, data[3:]]
        assert function_status(d)["droppedRecords"] == 0
    finally:
        d.stop()


def test_filters_skip_what_matches_no_pattern_and_count_it(tmp_path):
    patterns = ['{"data": {"level": ["alarm"], "temp": [{"numeric": [">", 30]}]}}', '{"partitionKey": [{"prefix": "vip-"}]}']
    d, out = function_daemon(tmp_path, "", f"filter_criteria = {json.dumps(patterns)}\nbatch_size = 500\n")
    d.start()
    try:
        records = []
        for n in range(300):
            key = "vip-1" if n % 50 == 0 else f"dev-{n % 7}"
            body = {"level": "alarm" if n % 3 == 0 else "info", "temp": n % 60}
            records.append((key, json.dumps(body).encode()))
        records.append(("dev-x", b"not json at all"))
        put_json(d.client(), records, stream="events")
        expected = [json.loads(data) for key, data in records[:300]
                    if key.startswith("vip-") or (json.loads(data)["level"] == "alarm" and json.loads(data)["temp"] > 30)]
        wait_until(lambda: caught_up(d) and function_status(d)["filteredOutRecords"] == 301 - len(expected), timeout=60,
                   what="every record filtered or run")
        got = [json.loads(x) for c in calls(out) for x in c["data"]]
        assert got == expected
        assert function_status(d)["succeededRecords"] == len(expected)
    finally:
        d.stop()


def test_tumbling_window_counts_per_device_with_state_and_a_final_invocation(tmp_path):
    script = (
        "state = dict(event.get('state') or {})\n"
        "for r in records:\n"
        "    state[r['partitionKey']] = state.get(r['partitionKey'], 0) + 1\n"
        "answer = {'state': state}\n"
    )
    d, out = function_daemon(tmp_path, script, "tumbling_window_seconds = 2\nbatch_size = 7\n")
    d.start()
    try:
        client = d.client()
        sent = Counter()
        deadline = time.time() + 4.5
        n = 0
        while time.time() < deadline:   # records spread over at least two windows
            key = f"device-{n % 3}"
            client.put_record(StreamName="events", PartitionKey=key, Data=b"x")
            sent[key] += 1
            n += 1
            time.sleep(0.02)
        def finals():
            return [c for c in calls(out) if c["event"]["isFinalInvokeForWindow"]]
        wait_until(lambda: caught_up(d) and finals() and sum(sum(c["event"]["state"].values()) for c in finals()) == n,
                   timeout=60, what="every window closed with its final invocation")
        made = calls(out)
        windows = {c["event"]["window"]["start"] for c in finals()}
        assert len(windows) >= 2
        total = Counter()
        for c in finals():
            assert c["keys"] == [] and c["event"]["isWindowTerminatedEarly"] is False
            total.update(c["event"]["state"])
            # The window's calls before its final one carried the state forward.
            same = [m for m in made if m["event"]["window"]["start"] == c["event"]["window"]["start"] and not m["event"]["isFinalInvokeForWindow"]]
            assert sum(len(m["keys"]) for m in same) == sum(c["event"]["state"].values())
            start, end = c["event"]["window"]["start"], c["event"]["window"]["end"]
            assert start.endswith("Z") and end.endswith("Z") and start < end
        assert total == sent
    finally:
        d.stop()


def test_retries_then_the_on_failure_record_has_lambdas_shape(tmp_path):
    d, out = function_daemon(tmp_path, "code = 3\n", 'batch_size = 5\nmaximum_retry_attempts = 2\non_failure = "fn-failures"\n')
    d.start()
    try:
        client = d.client()
        put_json(client, [(f"k{n}", f"r{n}".encode()) for n in range(5)], stream="events")
        wait_until(lambda: failure_records(d), timeout=60, what="the failure record")
        stored = read_stream(client, "events")["shardId-000000000000"]
        [failure] = failure_records(d)
        assert set(failure) == {"requestContext", "responseContext", "version", "timestamp", "KinesisBatchInfo"}
        context = failure["requestContext"]
        assert set(context) == {"requestId", "functionArn", "condition", "approximateInvokeCount"}
        assert context["functionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:fn"
        assert context["condition"] == "RetryAttemptsExhausted" and context["approximateInvokeCount"] == 3
        assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
        assert failure["version"] == "1.0" and failure["timestamp"].endswith("Z")
        info = failure["KinesisBatchInfo"]
        assert info["shardId"] == "shardId-000000000000" and info["batchSize"] == 5
        assert info["startSequenceNumber"] == stored[0]["SequenceNumber"] and info["endSequenceNumber"] == stored[-1]["SequenceNumber"]
        assert info["streamArn"] == "arn:aws:kinesis:us-east-1:000000000000:stream/events"
        first = stored[0]["ApproximateArrivalTimestamp"].timestamp()
        assert info["approximateArrivalOfFirstRecord"].endswith("Z") and info["approximateArrivalOfLastRecord"] >= info["approximateArrivalOfFirstRecord"]
        assert abs(time.mktime(time.strptime(info["approximateArrivalOfFirstRecord"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone - int(first)) <= 1
        assert len(calls(out)) == 3
        wait_until(lambda: caught_up(d), timeout=30, what="the position past the given-up batch")
        f = function_status(d)
        assert f["errors"] == 3 and f["droppedRecords"] == 5 and "exited with status 3" in f["lastError"]
        text = d.sluice("status", "--endpoint", d.endpoint).stdout
        assert "function fn (events -> command" in text and "3 invocations, 3 errors" in text and "5 dropped" in text, text
        assert "last error:" in text and "exited with status 3" in text
        metrics = urllib.request.urlopen(d.endpoint + "/metrics", timeout=5).read().decode()
        for line in ('Invocations{function_name="fn"} 3', 'Errors{function_name="fn"} 3', 'DroppedEventCount{function_name="fn"} 5',
                     'OnFailureDestinationDeliveredEventCount{function_name="fn"} 5'):
            assert line in metrics, line
        assert 'Duration_count{function_name="fn"}' in metrics or 'Duration_bucket{function_name="fn"' in metrics
    finally:
        d.stop()


def test_on_failure_can_be_an_exports_destination(tmp_path):
    """`on_failure = { export = "NAME" }`: the failure record goes straight to that export's
    destination (files here), in an object named after the function."""
    out = tmp_path / "failures"
    out.mkdir()
    function = ('batch_size = 3\nmaximum_retry_attempts = 0\non_failure = { export = "failed-to-disk" }\n'
                f'[[exports]]\nname = "failed-to-disk"\nstream = "fn-failures"\nkind = "files"\ndirectory = "{out}"\n'
                'record_format = "json_lines"\nprefix = "failed/"\n')
    d, _ = function_daemon(tmp_path, "code = 1\n", function)
    d.start()
    try:
        put_json(d.client(), [(f"k{n}", f"r{n}".encode()) for n in range(3)], stream="events")
        objects = lambda: [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")]
        wait_until(objects, timeout=60, what="the failure object")
        wait_until(lambda: caught_up(d), timeout=30, what="the position past the batch")
        [obj] = objects()
        assert obj.relative_to(out).parts[0] == "failed" and obj.name.startswith("function.fn-failed-to-disk-"), obj
        [line] = obj.read_text().splitlines()
        failure = json.loads(base64.b64decode(json.loads(line)["data"]))
        assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert failure["KinesisBatchInfo"]["batchSize"] == 3
        assert function_status(d)["droppedRecords"] == 3
    finally:
        d.stop()


def test_timeout_crash_and_garbage_answers_are_function_errors(tmp_path):
    script = (
        "kind = base64.b64decode(records[0]['data']).decode()\n"
        "if kind == 'slow': time.sleep(30)\n"
        "if kind == 'crash': os.kill(os.getpid(), 11)\n"
        "if kind == 'garbage': sys.stdout.write('{not json')\n"
        "if kind == 'badstate': answer = {'batchItemFailures': [{'itemIdentifier': 'nope'}]}\n"
    )
    d, out = function_daemon(tmp_path, script, 'batch_size = 1\nmaximum_retry_attempts = 0\ntimeout_seconds = 1\n'
                                               'on_failure = "fn-failures"\nfunction_response_types = ["ReportBatchItemFailures"]\n')
    d.start()
    try:
        client = d.client()
        expected = {"slow": "ran longer than 1.0 seconds and was stopped", "crash": "was killed by signal 11",
                    "garbage": "the answer is not JSON", "badstate": "which is not in the batch"}
        for errors, (kind, words) in enumerate(expected.items(), start=1):
            client.put_record(StreamName="events", PartitionKey="k", Data=kind.encode())
            wait_until(lambda: function_status(d)["errors"] == errors and caught_up(d), timeout=30, what=f"the {kind} error")
            assert words in function_status(d)["lastError"]
        client.put_record(StreamName="events", PartitionKey="k", Data=b"fine")
        wait_until(lambda: caught_up(d) and function_status(d)["succeededRecords"] == 1, timeout=30, what="the fine record")
        failures = failure_records(d)
        assert [f["KinesisBatchInfo"]["batchSize"] for f in failures] == [1, 1, 1, 1]
        assert function_status(d)["errors"] == 4
        # The slow handler was stopped at its timeout, not left to run 30 s.
        assert not any(c["data"] == ["slow"] for c in calls(out))
    finally:
        d.stop()


def test_kill9_mid_batch_loses_nothing_and_repeats_at_most_a_batch_per_shard(tmp_path):
    d, out = function_daemon(tmp_path, "time.sleep(0.1)\n", "batch_size = 25\n",
                             streams='[[streams]]\nname = "events"\nshards = 2\n')
    d.start()
    try:
        client = d.client()
        records = [(f"dev-{n % 50}", json.dumps({"n": n}).encode()) for n in range(1500)]
        put_json(client, records, stream="events")
        for _ in range(2):
            before = len(calls(out))
            wait_until(lambda: len(calls(out)) >= before + 6, timeout=60, what="some batches")
            d.kill9()
            d.start()
        wait_until(lambda: caught_up(d), timeout=180, what="every record processed")
        seen = Counter(json.loads(x)["n"] for c in calls(out) for x in c["data"])
        assert set(seen) == set(range(1500))
        repeats = sum(count - 1 for count in seen.values())
        # Each kill -9 repeats at most the batch in flight on each of the 2 shards.
        assert repeats <= 2 * 2 * 25, repeats
    finally:
        d.stop()


def test_an_unchanged_lambda_python_handler_runs_through_the_runner(tmp_path):
    app = tmp_path / "app" / "app.py"
    app.parent.mkdir()
    app.write_text(
        "import base64, json, os\n"
        "def handler(event, context):\n"
        "    print(f'processing {len(event[\"Records\"])} records in {context.function_name}')\n"
        "    failures = []\n"
        "    with open(os.environ['SEEN'], 'a') as f:\n"
        "        for record in event['Records']:\n"
        "            payload = base64.b64decode(record['kinesis']['data']).decode()\n"
        "            assert context.get_remaining_time_in_millis() > 0\n"
        "            f.write(json.dumps({'payload': payload, 'arn': context.invoked_function_arn, 'id': record['eventID']}) + '\\n')\n"
        "    return {'batchItemFailures': failures}\n"
    )
    seen = tmp_path / "seen.jsonl"
    work = tmp_path / "box"
    work.mkdir()
    config = (
        '[[streams]]\nname = "events"\nshards = 1\n'
        f'[[functions]]\nname = "py-fn"\nstream = "events"\ncommand = ["{PYTHON}", "{RUNNER}", "app.handler"]\n'
        'starting_position = "TRIM_HORIZON"\nfunction_response_types = ["ReportBatchItemFailures"]\n'
        f'environment = {{ LAMBDA_TASK_ROOT = "{app.parent}", SEEN = "{seen}" }}\n'
    )
    d = Daemon(work, config).start()
    try:
        put_json(d.client(), [(f"k{n}", f"payload-{n}".encode()) for n in range(40)], stream="events")
        wait_until(lambda: seen.exists() and len(seen.read_text().splitlines()) == 40, timeout=60, what="the handler's output")
        lines = [json.loads(line) for line in seen.read_text().splitlines()]
        assert [line["payload"] for line in lines] == [f"payload-{n}" for n in range(40)]
        assert lines[0]["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:py-fn"
        assert lines[0]["id"].startswith("shardId-000000000000:")
        wait_until(lambda: "processing 40 records in py-fn" in d.log.read_text(), timeout=10, what="the handler's print in the log")
        assert "function=py-fn" in next(line for line in d.log.read_text().splitlines() if "processing 40 records" in line)
    finally:
        d.stop()


class Receiver(http.server.BaseHTTPRequestHandler):
    """An HTTP handler: fails the first request, then answers with partial failures."""
    requests = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.requests.append((dict(self.headers), json.loads(body)))
        if len(Receiver.requests) == 1:
            self.send_response(503)
            self.end_headers()
            return
        answer = json.dumps({"batchItemFailures": []}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def test_an_http_handler_gets_the_event_and_is_retried_after_an_error_status(tmp_path):
    Receiver.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    work = tmp_path / "box"
    work.mkdir()
    config = (
        '[[streams]]\nname = "events"\nshards = 1\n'
        f'[[functions]]\nname = "web"\nstream = "events"\nurl = "http://127.0.0.1:{server.server_address[1]}/invoke"\n'
        'starting_position = "TRIM_HORIZON"\nbatch_size = 100\nfunction_response_types = ["ReportBatchItemFailures"]\n'
    )
    d = Daemon(work, config).start()
    try:
        put_json(d.client(), [(f"k{n}", f"v{n}".encode()) for n in range(30)], stream="events")
        wait_until(lambda: caught_up(d, "web") and function_status(d, "web")["succeededRecords"] == 30, timeout=60, what="the batch taken")
        (headers, first), (_, second) = Receiver.requests[:2]
        assert first == second   # the same batch again after the 503
        assert [base64.b64decode(r["kinesis"]["data"]).decode() for r in first["Records"]] == [f"v{n}" for n in range(30)]
        assert headers["Content-Type"] == "application/json"
        assert headers["Lambda-Runtime-Invoked-Function-Arn"].endswith(":function:web")
        assert int(headers["Lambda-Runtime-Deadline-Ms"]) > time.time() * 1000 - 60_000
        f = function_status(d, "web")
        assert f["errors"] == 1 and "503" in f["lastError"]
    finally:
        d.stop()
        server.shutdown()
