"""Connection floods against the real sluiced: more idle and slow-header connections than
[api] max_connections. New clients must still be answered (or refused at once with a
503), the flood must be closed by the idle timeout, and sluiced must stay up with its
memory bounded."""
import http.client
import json
import re
import socket
import time
import urllib.request

import pytest

from conftest import Daemon

LIMIT = 32
IDLE = 2


@pytest.fixture
def guarded(tmp_path):
    d = Daemon(tmp_path, f"max_connections = {LIMIT}\nidle_timeout_seconds = {IDLE}\n"
               '[[streams]]\nname = "s"\nshards = 1\n')
    # [api] is the last section the Daemon writes before extra_config: the keys land in it.
    d.start()
    yield d
    if d.proc.poll() is None:
        d.proc.kill()
        d.proc.wait()


def put(d, timeout=10):
    """One PutRecord on a fresh connection: (status, seconds it took)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=timeout)
    try:
        conn.request("POST", "/", body=json.dumps({"StreamName": "s", "PartitionKey": "k", "Data": "aGk="}),
                     headers={"X-Amz-Target": "Kinesis_20131202.PutRecord", "Content-Type": "application/x-amz-json-1.1"})
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        conn.close()


def closed_by_server(sock, within):
    """Waits (on the socket, not a sleep) until the server closes it; returns what it sent."""
    sock.settimeout(within)
    received = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return received
            received += chunk
    except ConnectionResetError:
        return received
    except TimeoutError:
        raise AssertionError(f"the server kept the connection open past {within}s") from None


def rss_kib(d):
    for line in open(f"/proc/{d.proc.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_idle_connections_beyond_the_bound_are_refused_fast_and_time_out(guarded):
    d = guarded
    flood = [socket.create_connection(("127.0.0.1", d.port)) for _ in range(LIMIT + 8)]
    # A new client is answered at once: accepted if a slot is free, else a 503.
    status, took = put(d)
    assert status in (200, 503) and took < 2, (status, took)
    answers = [closed_by_server(s, within=IDLE + 10) for s in flood]
    refused = [a for a in answers if a.startswith(b"HTTP/1.1 503")]
    assert refused, "connections beyond max_connections were not refused"
    assert all(b"ServiceUnavailableException" in a for a in refused)
    for s in flood:
        s.close()
    # The idle ones were closed by the idle timeout: new clients get their slot back.
    status, _ = put(d)
    assert status == 200
    assert d.proc.poll() is None
    metrics = urllib.request.urlopen(d.endpoint + "/metrics", timeout=5).read().decode()
    refused_count = float(re.search(r"(?m)^APIConnectionsRefused(?:\{[^}]*\})? ([0-9.e+]+)$", metrics).group(1))
    assert refused_count >= len(refused)
    assert re.search(r"(?m)^APIConnectionsTimedOut(?:\{[^}]*\})? [1-9]", metrics)


def test_slow_header_connections_are_closed_by_the_idle_timeout(guarded):
    d = guarded
    baseline = rss_kib(d)
    slow = []
    for _ in range(LIMIT):
        s = socket.create_connection(("127.0.0.1", d.port))
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        slow.append(s)
    # Each trickles a header byte now and then; the server must close them anyway.
    deadline = time.monotonic() + IDLE + 15
    open_ = list(slow)
    while open_ and time.monotonic() < deadline:
        for s in list(open_):
            try:
                s.sendall(b"X")
                s.settimeout(0.2)
                if s.recv(4096) == b"":
                    open_.remove(s)
            except TimeoutError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                open_.remove(s)
    assert not open_, f"{len(open_)} slow-header connections were kept past the idle timeout"
    for s in slow:
        s.close()
    status, _ = put(d)
    assert status == 200
    assert rss_kib(d) < baseline + 64 * 1024, (baseline, rss_kib(d))
