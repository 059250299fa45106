#!/usr/bin/env bash
# Builds sluice_<version>_amd64.deb (dpkg-deb, offline): release binaries with the Swift
# runtime linked in (--static-swift-stdlib) and stripped, so an edge box needs only
# Debian 12's own libraries; the unit, the sysusers entry, /etc/sluice/sluice.toml as a
# conffile with encryption at rest on (scripts/installed-config.sh), and the maintainer
# scripts in packaging/debian (user, a master key once, enable and start; remove keeps
# data and keys; purge deletes them and says so).
#   scripts/package.sh [OUT_DIR]     (default: .build/package)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-$PWD/.build/package}"
ARCH="$(dpkg --print-architecture)"
VERSION="0.$(git rev-list --count HEAD 2>/dev/null || echo 0)"
BIN="$(scripts/build-static.sh sluiced sluice)"

ROOT="$(mktemp -d)"
chmod 0755 "$ROOT"   # mktemp makes it 0700: it becomes the package's /
trap 'rm -rf "$ROOT"' EXIT
install -d "$ROOT/DEBIAN" "$ROOT/usr/bin" "$ROOT/lib/systemd/system" "$ROOT/usr/lib/sysusers.d" \
  "$ROOT/etc/sluice" "$ROOT/usr/share/doc/sluice" "$ROOT/usr/lib/sluice"
install -m 0755 -s "$BIN/sluiced" "$BIN/sluice" "$ROOT/usr/bin/"
install -m 0755 runners/python/sluice_lambda_runner.py "$ROOT/usr/lib/sluice/"
sed -e 's|/usr/local/bin/sluiced|/usr/bin/sluiced|' \
    -e 's|file:///usr/local/share/doc/sluice/README.md|file:///usr/share/doc/sluice/README.md|' \
    systemd/sluiced.service > "$ROOT/lib/systemd/system/sluiced.service"
install -m 0644 systemd/sluice.sysusers "$ROOT/usr/lib/sysusers.d/sluice.conf"
scripts/installed-config.sh > "$ROOT/etc/sluice/sluice.toml"
chmod 0640 "$ROOT/etc/sluice/sluice.toml"
chmod 0750 "$ROOT/etc/sluice"
install -m 0644 README.md "$ROOT/usr/share/doc/sluice/README.md"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$ROOT/DEBIAN/"
echo /etc/sluice/sluice.toml > "$ROOT/DEBIAN/conffiles"

# Depends: the Debian packages that hold the libraries the binaries name directly
# (readelf's NEEDED), found by file name (with merged /usr a library's path may differ
# from the one dpkg recorded).
depends_of() {
  for binary in "$@"; do
    readelf -d "$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'
  done | sort -u | while read -r library; do
    dpkg -S "*/$library" 2>/dev/null | cut -d: -f1 | head -n 1
  done | sort -u | paste -sd, | sed 's/,/, /g'
}
DEPENDS="$(depends_of "$ROOT"/usr/bin/*)"
cat > "$ROOT/DEBIAN/control" <<CONTROL
Package: sluice
Version: $VERSION
Architecture: $ARCH
Maintainer: Sluice developers <sluice@localhost>
Depends: $DEPENDS, systemd
Suggests: python3
Section: net
Priority: optional
Installed-Size: $(du -sk "$ROOT" | cut -f1)
Description: edge ingestion daemon with an embedded, Kinesis-compatible stream engine
 Tails log files and MQTT topics into local streams with Kinesis Data Streams
 semantics (shards, sequence numbers, retention, resharding, fan-out), encrypted at
 rest, served through a Kinesis-compatible HTTP API (aws cli, boto3, SDKs).
CONTROL
mkdir -p "$OUT"
DEB="$OUT/sluice_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group --build "$ROOT" "$DEB" >&2
echo "$DEB"
