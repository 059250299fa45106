#!/usr/bin/env bash
# Installs Sluice as a systemd service on this machine (run as root):
#   /usr/local/bin/{sluiced,sluice}, /etc/systemd/system/sluiced.service,
#   /usr/lib/sysusers.d/sluice.conf (user sluice, in group adm),
#   /etc/sluice/sluice.toml (from config/sluice.toml, encryption on; kept if present),
#   /etc/sluice/master.key (created with `sluice keys init` if missing; back it up).
# Then enables and starts the service when systemd is running.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
scripts/setup.sh
swift build -c release --product sluiced
swift build -c release --product sluice
BIN="$(swift build -c release --show-bin-path)"
install -m 0755 "$BIN/sluiced" "$BIN/sluice" /usr/local/bin/
install -D -m 0644 systemd/sluiced.service /etc/systemd/system/sluiced.service
install -D -m 0644 systemd/sluice.sysusers /usr/lib/sysusers.d/sluice.conf
install -D -m 0644 README.md /usr/local/share/doc/sluice/README.md
install -d -m 0750 /etc/sluice
if [ ! -e /etc/sluice/sluice.toml ]; then
  # Under systemd the key arrives as a credential named master.key.
  scripts/installed-config.sh > /etc/sluice/sluice.toml
  chmod 0640 /etc/sluice/sluice.toml
fi
[ -e /etc/sluice/master.key ] || /usr/local/bin/sluice keys init --key-file /etc/sluice/master.key
if command -v systemd-sysusers >/dev/null; then systemd-sysusers /usr/lib/sysusers.d/sluice.conf; fi
chgrp sluice /etc/sluice /etc/sluice/sluice.toml 2>/dev/null || true
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now sluiced
  systemctl status --no-pager sluiced || true
else
  echo "installed; systemd is not running here, so the service was not started"
fi
