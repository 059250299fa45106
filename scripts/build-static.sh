#!/usr/bin/env bash
# Builds release binaries as the package ships them and prints their directory: the Swift
# runtime linked in (--static-swift-stdlib, so an edge box needs only Debian's own
# libraries) and no exported dynamic symbols (SwiftPM exports every symbol of an
# executable: 4 MB of tables nothing looks up). Used by package.sh and bench.sh.
#   scripts/build-static.sh PRODUCT...
set -euo pipefail
cd "$(dirname "$0")/.."
FLAGS=(-c release --static-swift-stdlib --scratch-path .build-package -Xlinker --no-export-dynamic)
for product in "$@"; do swift build "${FLAGS[@]}" --product "$product" >&2; done
swift build "${FLAGS[@]}" --show-bin-path
