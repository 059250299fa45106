#!/usr/bin/env bash
# Benchmarks on this machine, each next to a baseline measured in the same run:
#   - dd to the same disk: 1 MiB blocks with fdatasync (bandwidth) and 1 KiB blocks with
#     O_DSYNC (one sync per small write, what a naive logger gets);
#   - engine appends (100 B and 1 KiB records, concurrent writers, each acknowledged after
#     fsync), write limits off;
#   - PutRecords over HTTP on loopback to a release sluiced;
#   - the gateway: a file tailed into the engine against `cat FILE > /dev/null`, and the
#     per-shard limiter's accepted throughput on 4 shards against 4 x 1 MiB/s;
#   - forwarding to a remote Kinesis endpoint (Sluice's API on loopback as the stand-in)
#     against the in-process engine, and KPL aggregation's user records/s per shard;
#   - MQTT: QoS 1 messages into the durable engine against a plain libmosquitto
#     subscriber on the same broker (mosquitto on 127.0.0.1), live and from a backlog.
# Prints a Markdown table of medians over BENCH_RUNS runs (default 3), with the spread.
# BENCH_SECONDS (default 5) sets each run's length.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
swift build -c release >/dev/null
BIN="$(swift build -c release --show-bin-path)"
WORK="${BENCH_DIR:-$PWD/.build/bench}"
SECONDS_EACH="${BENCH_SECONDS:-5}"
RUNS="${BENCH_RUNS:-3}"
rm -rf "$WORK" && mkdir -p "$WORK"
RESULTS="$WORK/results.jsonl"
: > "$RESULTS"

dd_rate() { # prints MB/s from dd's summary line
  dd "$@" 2>&1 | awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "bytes") b = $(i-1); for (i = 1; i <= NF; i++) if ($i == "s,") s = $(i-1); printf "%.1f\n", b / s / 1e6 }'
}
DD_BIG=$(dd_rate if=/dev/zero of="$WORK/dd.bin" bs=1M count=1024 conv=fdatasync)
DD_SMALL=$(dd_rate if=/dev/zero of="$WORK/dd.bin" bs=1k count=20000 oflag=dsync)
rm -f "$WORK/dd.bin"

"$BIN/sluice" keys init --key-file "$WORK/bench.key" >/dev/null
for size in 100 1024; do
  for run in "--writers 1" "--writers 16" "--writers 64" "--writers 8 --batch 100"; do
    for _ in $(seq "$RUNS"); do
      # Plain, then encrypted, back to back: the ratio compares like with like.
      "$BIN/sluice-bench" engine --dir "$WORK/engine" $run --record-size "$size" --seconds "$SECONDS_EACH" >> "$RESULTS"
      "$BIN/sluice-bench" engine --dir "$WORK/engine" $run --record-size "$size" --seconds "$SECONDS_EACH" --key-file "$WORK/bench.key" >> "$RESULTS"
    done
  done
done

PORT=45991
cat > "$WORK/sluice.toml" <<TOML
data_dir = "$WORK/daemon"
log_level = "error"
[api]
listen = "127.0.0.1:$PORT"
[engine]
enforce_write_limits = false
TOML
"$BIN/sluiced" --config "$WORK/sluice.toml" & DAEMON=$!
trap 'kill $DAEMON 2>/dev/null || true' EXIT
python3 -c "
import time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen('http://127.0.0.1:$PORT/health', timeout=1); break
    except OSError:
        time.sleep(0.1)
"
for size in 100 1024; do
  for _ in $(seq "$RUNS"); do "$BIN/sluice-bench" put-records --endpoint "http://127.0.0.1:$PORT" --writers 8 --batch 500 --record-size "$size" --seconds "$SECONDS_EACH" >> "$RESULTS"; done
done
kill -TERM $DAEMON; wait $DAEMON || true
echo "CPU ceiling of frame encoding on this machine (sluice-bench seal):" > "$WORK/seal.txt"
for size in 1024 102400 1048576; do "$BIN/sluice-bench" seal --size "$size" >> "$WORK/seal.txt"; done
echo "On-demand timeline (one shard's key range offered 2,500 records/s; limit 1,000/s per shard):" > "$WORK/on-demand.txt"
"$BIN/sluice-bench" on-demand --dir "$WORK/od" --seconds 12 >> "$WORK/on-demand.txt"
echo "Gateway (file tail vs cat in the same run; limiter on 4 shards over 30 s):" > "$WORK/gateway.txt"
for _ in $(seq "$RUNS"); do TMPDIR="$WORK" "$BIN/sluice-bench" tail --mebibytes 256 >> "$WORK/gateway.txt"; done
TMPDIR="$WORK" "$BIN/sluice-bench" gateway-limit --seconds 30 >> "$WORK/gateway.txt"
echo "Forwarding (remote sink to a loopback stand-in; aggregation at Kinesis' limits):" > "$WORK/forward.txt"
TMPDIR="$WORK" "$BIN/sluice-bench" forward --seconds "$SECONDS_EACH" >> "$WORK/forward.txt"
echo "MQTT (QoS 1, medians of $RUNS runs; the limiter raised to measure the pipeline):" > "$WORK/mqtt.txt"
TMPDIR="$WORK" "$BIN/sluice-bench" mqtt --runs "$RUNS" >> "$WORK/mqtt.txt"

python3 - "$RESULTS" "$DD_BIG" "$DD_SMALL" "$RUNS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
dd_big, dd_small, runs = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
groups = {}
for r in rows:
    groups.setdefault((r["bench"], r["record_size"], r["writers"], r["batch"]), []).append(r)
print(f"Baselines (same disk, same run): dd 1 MiB blocks + fdatasync {dd_big:.0f} MB/s; dd 1 KiB blocks with O_DSYNC {dd_small:.1f} MB/s ({dd_small * 1e6 / 1024:.0f} writes/s)")
print(f"Medians of {runs} runs; the spread is the lowest and highest run.\n")
print("| what | record | writers | per call | records/s (spread) | MB/s | vs dd 1 MiB+fsync | vs dd 1 KiB O_DSYNC | encrypted vs plain |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
plain = {}
for (bench, size, writers, batch), group in groups.items():
    rps = statistics.median(r["records_per_second"] for r in group)
    mbps = statistics.median(r["mb_per_second"] for r in group)
    low, high = min(r["records_per_second"] for r in group), max(r["records_per_second"] for r in group)
    ratio = ""
    if bench == "engine-append":
        plain[(size, writers, batch)] = rps
    elif bench == "engine-append-encrypted" and (size, writers, batch) in plain:
        ratio = f"{rps / plain[(size, writers, batch)]:.2f}"
    print(f"| {bench} | {size} B | {writers} | {batch} | {rps:,.0f} ({low:,.0f}–{high:,.0f}) | {mbps:.1f} | "
          f"{mbps / dd_big:.2f}x | {mbps / dd_small:.1f}x | {ratio} |")
PY
echo
cat "$WORK/seal.txt"
echo
cat "$WORK/on-demand.txt"
echo
cat "$WORK/gateway.txt"
echo
cat "$WORK/mqtt.txt"
echo
cat "$WORK/forward.txt"
