#!/usr/bin/env bash
# Installs what building, running and testing Sluice needs on a fresh Debian 12 machine
# with the Swift toolchain: Debian packages and the Python test clients. Idempotent.
set -euo pipefail

# System libraries and tools the build and the tests use (mosquitto: the broker the
# MQTT tests and benchmark start; openssl: their TLS certificates).
# debootstrap and systemd-container: the package test boots a Debian root under a real
# systemd (Tests/Integration/test_package.py). zlib and zstd: the files export's compression
# (zstd and gzip, the command-line tools, check its output).
APT_PACKAGES=(pkg-config libsystemd-dev systemd libmosquitto-dev mosquitto openssl debootstrap systemd-container zlib1g-dev libzstd-dev zstd gzip)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# Kinesis clients and the test runner for the integration tests; moto_server (a stand-in
# remote Kinesis), aws-kinesis-agg (the KPL format's reference deaggregator), cbor2 and
# httpx with h2 (the CBOR and HTTP/2 wires the Java and JavaScript SDKs speak).
python3 - <<'PY' || python3 -m pip install -q boto3 awscli pytest prometheus-client "moto[server]" aws-kinesis-agg cbor2 "httpx[http2]"
import boto3, awscli, pytest, prometheus_client, moto.server, aws_kinesis_agg, cbor2, httpx, h2  # noqa: F401
PY
command -v swift >/dev/null || { echo "setup: the Swift toolchain (swift) is not on PATH" >&2; exit 1; }
