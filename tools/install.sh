#!/usr/bin/env bash
# Builds the project's own small Go tools into .tools/bin (npm run tools:install), from the Go
# module proxy like k6: promlint, the linter of `promtool check metrics` (client_golang's), which
# the metrics test runs on the /metrics pages. Idempotent: rebuilt only when its source changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.tools/bin"
SRC="$ROOT/tools/promlint"
if [ -x "$BIN/promlint" ] && [ -z "$(find "$SRC" -newer "$BIN/promlint" -type f)" ]; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "[tools] error: promlint is built with Go; install Go 1.22+ (Debian: apt-get install golang-go)" >&2
  exit 1
fi
mkdir -p "$BIN"
(cd "$SRC" && go build -o "$BIN/promlint" .)
echo "[tools] promlint built at $BIN/promlint"
