#!/usr/bin/env bash
# Sets up, builds (release) and runs sluiced on the embedded default config.
#   scripts/run.sh [--config FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product sluiced
swift build -c release --product sluice
exec .build/release/sluiced --config "${SLUICE_CONFIG:-config/sluice.toml}" "$@"
