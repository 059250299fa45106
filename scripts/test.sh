#!/usr/bin/env bash
# Sets up and runs the whole test suite: Swift unit and in-process tests (swift test),
# then the integration tests that drive the real sluiced with aws cli, boto3 and sluice.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test --skip-build
SLUICE_BIN="$(swift build --show-bin-path)" python3 -m pytest -q -p no:cacheprovider Tests/Integration
