#!/usr/bin/env bash
# Builds the pinned k6 from source through the Go module proxy into .tools/bin (npm run load:install).
# No prebuilt binary is downloaded. Idempotent: an existing k6 of the pinned version is kept.
set -euo pipefail
K6_VERSION="v1.4.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.tools/bin"
if [ -x "$BIN/k6" ] && "$BIN/k6" version 2>/dev/null | grep -q "k6 $K6_VERSION "; then
  echo "[load] k6 $K6_VERSION already built at $BIN/k6"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "[load] error: k6 is built from source with Go; install Go 1.22+ (Debian: apt-get install golang-go)" >&2
  exit 1
fi
mkdir -p "$BIN"
echo "[load] building k6 $K6_VERSION with $(go version | cut -d' ' -f3) (about a minute)"
GOBIN="$BIN" GOFLAGS=-mod=mod go install "go.k6.io/k6@$K6_VERSION"
echo "[load] k6 ready: $("$BIN/k6" version | head -1)"
