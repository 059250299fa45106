#!/usr/bin/env bash
# Prints the config an installation starts with: config/sluice.toml with encryption at
# rest on, its key arriving as the systemd credential master.key, and the MQTT example
# commented out (a fresh box has no broker to subscribe to; uncomment it once it does).
# Used by install.sh and package.sh, and tested: `sluiced --check-config` accepts it.
set -euo pipefail
cd "$(dirname "$0")/.."
# Only the [encryption] section's key_file: the MQTT example has a key_file of its own.
sed -e '/^# \[encryption\]/,/^$/ s|^# key_file = .*|key_file = "master.key"|' \
    -e 's|^# \[encryption\]|[encryption]|' \
    -e '/^\[\[sources.mqtt\]\]/,/^$/ s|^\([^#]\)|# \1|' config/sluice.toml
