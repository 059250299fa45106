#!/usr/bin/env bash
# Sets up, builds (release) and runs sluiced on the embedded default config.
#   scripts/run.sh [--config FILE]
# The default config subscribes to an MQTT broker on 127.0.0.1:1883: when nothing listens
# there, a local mosquitto is started for the run (loopback only, queueing for offline
# persistent sessions without a bound, as README "MQTT" recommends) and stopped after it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product sluiced
swift build -c release --product sluice
CONFIG="${SLUICE_CONFIG:-config/sluice.toml}"
BROKER=""
if grep -q '^broker = "mqtt://127.0.0.1:1883"' "$CONFIG" && ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  BROKER_DIR="$(mktemp -d)"
  printf 'listener 1883 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\npersistence false\n' > "$BROKER_DIR/mosquitto.conf"
  mosquitto -c "$BROKER_DIR/mosquitto.conf" > "$BROKER_DIR/mosquitto.log" 2>&1 & BROKER=$!
  trap 'kill $BROKER 2>/dev/null || true; rm -rf "$BROKER_DIR"' EXIT
  echo "run.sh: started a local mosquitto on 127.0.0.1:1883 for the default config's MQTT source (log: $BROKER_DIR/mosquitto.log)"
fi
.build/release/sluiced --config "$CONFIG" "$@" & SLUICED=$!
trap 'kill -TERM $SLUICED 2>/dev/null || true; wait $SLUICED 2>/dev/null; [ -z "$BROKER" ] || kill $BROKER 2>/dev/null || true; rm -rf "${BROKER_DIR:-/nonexistent}"' EXIT INT TERM
wait $SLUICED
