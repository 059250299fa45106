#!/usr/bin/env python3
"""RSS of a release sluiced: idle after start, peak under steady PutRecords load, then while a file source
spools about 1 GB (limits at Kinesis' defaults, the file written far faster). Prints one
JSON line with the RSS (MiB) under load, at the first spooled bytes and at 1 GB spooled.

    scripts/rss.py BIN_DIR WORK_DIR
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def rss_mib(pid, field="VmRSS"):
    """VmRSS: all resident pages; RssAnon: those the process owns (heap, stacks), without
    the shared, clean pages of the binary and its libraries (RssFile)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_up(endpoint):
    for _ in range(300):
        try:
            urllib.request.urlopen(endpoint + "/health", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("sluiced did not start")


def spooled(endpoint):
    with urllib.request.urlopen(endpoint + "/status", timeout=5) as r:
        return json.loads(r.read())["spool"]["usedBytes"]


def main():
    bin_dir, work = Path(sys.argv[1]), Path(sys.argv[2]) / "rss"
    subprocess.run(["rm", "-rf", str(work)], check=True)
    (work / "logs").mkdir(parents=True)
    port = 45993
    endpoint = f"http://127.0.0.1:{port}"
    (work / "sluice.toml").write_text(
        f'data_dir = "{work}/data"\nlog_level = "error"\n[api]\nlisten = "127.0.0.1:{port}"\n'
        '[engine]\nenforce_write_limits = false\n'
        '[limits]\nspool_max_bytes = 2147483648\n'
        '[[streams]]\nname = "logs"\nshards = 4\n'
        f'[[sources.file]]\nstream = "logs"\npaths = ["{work}/logs/*.log"]\npartition_key = "{{file.name}}-{{json.k}}"\nparser = "json"\n'
    )
    daemon = subprocess.Popen([str(bin_dir / "sluiced"), "--config", str(work / "sluice.toml")])
    try:
        wait_up(endpoint)
        # Idle: started, its file source watching an empty directory, nothing arriving.
        time.sleep(3)
        idle, idle_anon = rss_mib(daemon.pid), rss_mib(daemon.pid, "RssAnon")
        load = subprocess.Popen([str(bin_dir / "sluice-bench"), "put-records", "--endpoint", endpoint, "--writers", "8",
                                 "--batch", "500", "--record-size", "1024", "--seconds", "8"], stdout=subprocess.DEVNULL)
        steady = steady_anon = 0.0
        while load.poll() is None:
            steady = max(steady, rss_mib(daemon.pid))
            steady_anon = max(steady_anon, rss_mib(daemon.pid, "RssAnon"))
            time.sleep(0.2)
        line = '{"k":%d,"pad":"' + "x" * 180 + '"}\n'
        at_first = at_1gb = anon_1gb = 0.0
        with open(work / "logs" / "big.log", "w") as f:
            for chunk in range(110):
                f.write("".join(line % (n % 64) for n in range(chunk * 50000, (chunk + 1) * 50000)))
        deadline = time.time() + 600
        while time.time() < deadline:
            used = spooled(endpoint)
            rss = rss_mib(daemon.pid)
            if used > 0 and not at_first:
                at_first = rss  # the first sample with a spool
            if used >= 1e9:
                at_1gb = rss
                anon_1gb = rss_mib(daemon.pid, "RssAnon")
                break
            time.sleep(0.5)
        print(json.dumps({"bench": "rss", "idle_mib": round(idle, 1), "idle_anon_mib": round(idle_anon, 1), "steady_load_mib": round(steady, 1), "spool_first_mib": round(at_first, 1),
                          "spool_1gb_mib": round(at_1gb, 1),
                          "steady_load_anon_mib": round(steady_anon, 1), "spool_1gb_anon_mib": round(anon_1gb, 1), "spooled_bytes": spooled(endpoint)}))
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=120)


if __name__ == "__main__":
    main()
