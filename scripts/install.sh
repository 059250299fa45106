#!/usr/bin/env bash
# Builds the Debian package (scripts/package.sh) and installs it on this machine with apt
# (run as root): binaries, unit, the sluice user, /etc/sluice/sluice.toml (a conffile,
# kept if present), /etc/sluice/master.key (created once; back it up); the service is
# enabled and started when systemd runs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
scripts/setup.sh
DEB="$(scripts/package.sh)"
DEBIAN_FRONTEND=noninteractive apt-get install -y "$DEB"
if [ -d /run/systemd/system ]; then
  systemctl status --no-pager sluiced || true
else
  echo "installed; systemd is not running here, so the service was not started"
fi
