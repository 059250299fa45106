#!/usr/bin/env bash
# Benchmarks on this machine, each next to a baseline measured in the same run:
#   - dd to the same disk: 1 MiB blocks with fdatasync (bandwidth) and 1 KiB blocks with
#     O_DSYNC (one sync per small write, what a naive logger gets);
#   - engine appends (100 B and 1 KiB records, concurrent writers, each acknowledged after
#     fsync), write limits off;
#   - PutRecords over HTTP on loopback to a release sluiced;
#   - the gateway: a file tailed into the engine against `cat FILE > /dev/null`, and the
#     per-shard limiter's accepted throughput on 4 shards against 4 x 1 MiB/s;
#   - exports to a remote Kinesis endpoint (Sluice's API on loopback as the stand-in)
#     against the in-process append rate, local first against the old direct path, and
#     KPL aggregation's user records/s through one remote shard at Kinesis' limits;
#   - functions: records/s through a trivial command handler and a loopback HTTP handler
#     (batch sizes 100 and 1,000, one lane and four) against the in-process append rate;
#   - MQTT: QoS 1 messages into the durable engine against a plain libmosquitto
#     subscriber on the same broker (mosquitto on 127.0.0.1), live and from a backlog, and
#     against nats-server's MQTT listener storing into JetStream.
#   - peers fed by the same load shape: Redis streams (XADD, appendfsync always) and NATS
#     JetStream (file storage, plain and encrypted), installed and started here;
#   - PutRecords and GetRecords against moto_server (pip) on loopback;
#   - put-to-get latency through enhanced fan-out (scripts/latency.py), sluiced's RSS
#     under load and with 1 GB spooled (scripts/rss.py), and a soak: 10 minutes of
#     sustained PutRecords with RSS sampled every 10 s (scripts/soak.py, SOAK_SECONDS).
# Writes BENCHMARKS.md (machine, date, command, medians over BENCH_RUNS runs (default 3)
# with their spread, ratios to same-run baselines, goals PASS/FAIL) and prints it.
# BENCH_SECONDS (default 5) sets each run's length.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
# The peers are benchmark-only: installed here, not by setup.sh.
for p in redis-server nats-server; do
  dpkg -s "$p" >/dev/null 2>&1 || { SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$p" >/dev/null; }
done
# Its own build directory, so a debug build (the tests) and this one do not wait on each other.
swift build -c release --scratch-path .build-release >/dev/null
BIN="$(swift build -c release --scratch-path .build-release --show-bin-path)"
# The binaries as the package ships them (static runtime, stripped): their size, and the
# memory figures (scripts/rss.py) are of these.
PKG_BIN="$(scripts/build-static.sh sluiced sluice sluice-bench 2>/dev/null)"
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
      # The commit journal's before/after: every shard fsyncing its own file.
      if [ "$run" != "--writers 8 --batch 100" ]; then
        "$BIN/sluice-bench" engine --dir "$WORK/engine" $run --record-size "$size" --seconds "$SECONDS_EACH" --no-journal >> "$RESULTS"
      fi
    done
  done
done

# Peers: the same writers/record sizes as the engine's 16-writer shape, acknowledged one
# record at a time.
REDIS_PORT=46379; NATS_PORT=46222; NATS_ENC_PORT=46223
redis-server --port $REDIS_PORT --bind 127.0.0.1 --dir "$WORK" --appendonly yes --appendfsync always --save "" --daemonize yes --logfile "$WORK/redis.log"
mkdir -p "$WORK/nats" "$WORK/nats-enc"
printf 'listen: 127.0.0.1:%s\njetstream { store_dir: "%s" }\n' $NATS_PORT "$WORK/nats" > "$WORK/nats.conf"
printf 'listen: 127.0.0.1:%s\njetstream { store_dir: "%s", cipher: chachapoly, key: "bench-key-0123456789abcdef" }\n' $NATS_ENC_PORT "$WORK/nats-enc" > "$WORK/nats-enc.conf"
nats-server -c "$WORK/nats.conf" > "$WORK/nats.log" 2>&1 & NATS=$!
nats-server -c "$WORK/nats-enc.conf" > "$WORK/nats-enc.log" 2>&1 & NATS_ENC=$!
sleep 1
for size in 100 1024; do
  for _ in $(seq "$RUNS"); do
    "$BIN/sluice-bench" peer --target redis --port $REDIS_PORT --writers 16 --record-size "$size" --seconds "$SECONDS_EACH" >> "$RESULTS"
    "$BIN/sluice-bench" peer --target nats --port $NATS_PORT --writers 16 --record-size "$size" --seconds "$SECONDS_EACH" >> "$RESULTS"
    "$BIN/sluice-bench" peer --target nats --port $NATS_ENC_PORT --writers 16 --record-size "$size" --seconds "$SECONDS_EACH" --label encrypted >> "$RESULTS"
  done
done
redis-cli -p $REDIS_PORT shutdown nosave >/dev/null 2>&1 || true
kill $NATS $NATS_ENC 2>/dev/null || true

PORT=45991
cat > "$WORK/sluice.toml" <<TOML
data_dir = "$WORK/daemon"
log_level = "error"
[api]
listen = "127.0.0.1:$PORT"
[engine]
enforce_write_limits = false
enforce_read_limits = false
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
MOTO_PORT=45995
moto_server -H 127.0.0.1 -p $MOTO_PORT > "$WORK/moto.log" 2>&1 & MOTO=$!
trap 'kill $DAEMON $MOTO 2>/dev/null || true' EXIT
sleep 3
for size in 100 1024; do
  for _ in $(seq "$RUNS"); do
    "$BIN/sluice-bench" put-records --endpoint "http://127.0.0.1:$PORT" --writers 8 --batch 500 --record-size "$size" --seconds "$SECONDS_EACH" >> "$RESULTS"
    "$BIN/sluice-bench" put-records --endpoint "http://127.0.0.1:$MOTO_PORT" --writers 8 --batch 500 --record-size "$size" --seconds "$SECONDS_EACH" --label moto >> "$RESULTS"
  done
done
for _ in $(seq "$RUNS"); do
  "$BIN/sluice-bench" get-records --endpoint "http://127.0.0.1:$PORT" --records 50000 >> "$RESULTS"
  "$BIN/sluice-bench" get-records --endpoint "http://127.0.0.1:$MOTO_PORT" --records 5000 --label moto >> "$RESULTS"
done
for _ in $(seq "$RUNS"); do python3 scripts/latency.py --endpoint "http://127.0.0.1:$PORT" --rate 200 --seconds 15 >> "$RESULTS"; done
kill -TERM $DAEMON; wait $DAEMON || true
kill $MOTO 2>/dev/null || true
for binary in sluiced sluice; do
  strip -o "$WORK/$binary.stripped" "$PKG_BIN/$binary"
  echo "{\"bench\": \"binary-size\", \"binary\": \"$binary\", \"bytes\": $(stat -c %s "$WORK/$binary.stripped")}" >> "$RESULTS"
done
python3 scripts/rss.py "$PKG_BIN" "$WORK" >> "$RESULTS"
python3 scripts/soak.py "$BIN" "$WORK" "${SOAK_SECONDS:-600}" >> "$RESULTS"
echo "CPU ceiling of frame encoding on this machine (sluice-bench seal):" > "$WORK/seal.txt"
for size in 1024 102400 1048576; do "$BIN/sluice-bench" seal --size "$size" >> "$WORK/seal.txt"; done
echo "On-demand timeline (one shard's key range offered 2,500 records/s; limit 1,000/s per shard):" > "$WORK/on-demand.txt"
"$BIN/sluice-bench" on-demand --dir "$WORK/od" --seconds 12 >> "$WORK/on-demand.txt"
echo "Gateway (file tail vs cat in the same run; limiter on 4 shards over 30 s):" > "$WORK/gateway.txt"
# Each run measures the tail without record origins (the baseline) and with them, back to back.
for _ in $(seq "$RUNS"); do
    TMPDIR="$WORK" "$BIN/sluice-bench" tail --mebibytes 256 --no-origins >> "$WORK/gateway.txt"
    TMPDIR="$WORK" "$BIN/sluice-bench" tail --mebibytes 256 >> "$WORK/gateway.txt"
done
TMPDIR="$WORK" "$BIN/sluice-bench" gateway-limit --seconds 30 >> "$WORK/gateway.txt"
echo "Exports (to a loopback stand-in; local first against direct; aggregation at Kinesis' limits):" > "$WORK/export.txt"
TMPDIR="$WORK" "$BIN/sluice-bench" export --seconds "$SECONDS_EACH" >> "$WORK/export.txt"
echo "Functions (a trivial command handler and a loopback HTTP handler against the in-process append rate):" > "$WORK/function.txt"
TMPDIR="$WORK" "$BIN/sluice-bench" function >> "$WORK/function.txt"
echo "MQTT (QoS 1, medians of $RUNS runs; the limiter raised to measure the pipeline):" > "$WORK/mqtt.txt"
TMPDIR="$WORK" "$BIN/sluice-bench" mqtt --runs "$RUNS" >> "$WORK/mqtt.txt"

python3 scripts/benchmarks_md.py "$RESULTS" "$DD_BIG" "$DD_SMALL" "$RUNS" "$SECONDS_EACH" "$WORK" > BENCHMARKS.md
cat BENCHMARKS.md
