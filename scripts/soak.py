#!/usr/bin/env python3
"""Soak: sustained PutRecords into a release sluiced for SOAK_SECONDS (default 600), its
VmRSS and RssAnon sampled every 10 s. Prints one JSON line with the samples and whether
memory plateaus: after the first minute's warm-up, the peak of the second half is within
5 % (or 4 MiB) of the first half's. A steady climb would show a leak; a plateau shows buffers that fill and stay.

    scripts/soak.py BIN_DIR WORK_DIR [SECONDS]
"""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from rss import rss_mib, wait_up


def main():
    bin_dir, work = Path(sys.argv[1]), Path(sys.argv[2]) / "soak"
    seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 600
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    port = 45997
    endpoint = f"http://127.0.0.1:{port}"
    (work / "sluice.toml").write_text(
        f'data_dir = "{work}/data"\nlog_level = "error"\n[api]\nlisten = "127.0.0.1:{port}"\n'
        '[engine]\nenforce_write_limits = false\n')
    daemon = subprocess.Popen([str(bin_dir / "sluiced"), "--config", str(work / "sluice.toml")])
    try:
        wait_up(endpoint)
        # 256-byte records keep the disk written below 20 GB over ten minutes.
        load = subprocess.Popen([str(bin_dir / "sluice-bench"), "put-records", "--endpoint", endpoint, "--writers", "8",
                                 "--batch", "500", "--record-size", "256", "--seconds", str(seconds)],
                                stdout=subprocess.PIPE, text=True)
        samples = []
        started = time.monotonic()
        while load.poll() is None:
            samples.append({"t": round(time.monotonic() - started), "rss_mib": round(rss_mib(daemon.pid), 1),
                            "anon_mib": round(rss_mib(daemon.pid, "RssAnon"), 1)})
            try:
                load.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        output = load.stdout.read()
        rate = next((json.loads(line).get("records_per_second") for line in output.splitlines() if line.startswith("{")), None)
        # Past the warm-up (the first minute: buffers and caches fill), the two halves.
        warm = [s for s in samples if s["t"] >= min(60, seconds // 4)]
        half = len(warm) // 2
        first = max((s["rss_mib"] for s in warm[:half]), default=0.0)
        second = max((s["rss_mib"] for s in warm[half:]), default=0.0)
        plateau = second <= max(first * 1.05, first + 4)
        print(json.dumps({"bench": "soak", "seconds": seconds, "records_per_s": rate, "samples": samples,
                          "first_half_peak_mib": first, "second_half_peak_mib": second, "plateau": plateau}))
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=120)
        subprocess.run(["rm", "-rf", str(work / "data")], check=False)


if __name__ == "__main__":
    main()
