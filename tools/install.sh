#!/usr/bin/env bash
# The project's own small tools, into .tools (npm run tools:install); idempotent, each redone only
# when what it is made from changed:
#   - promlint, the linter of `promtool check metrics` (client_golang's), built from the Go module
#     proxy like k6; the metrics test runs it on the /metrics pages.
#   - Schemathesis, the OpenAPI fuzzer, from PyPI into a virtualenv of its own, every package at
#     the version tools/schemathesis/requirements.txt pins; the conformance test runs it against
#     the embedded gateway.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.tools/bin"

promlint() {
  local src="$ROOT/tools/promlint"
  if [ -x "$BIN/promlint" ] && [ -z "$(find "$src" -newer "$BIN/promlint" -type f)" ]; then return; fi
  if ! command -v go >/dev/null 2>&1; then
    echo "[tools] error: promlint is built with Go; install Go 1.22+ (Debian: apt-get install golang-go)" >&2
    exit 1
  fi
  mkdir -p "$BIN"
  (cd "$src" && go build -o "$BIN/promlint" .)
  echo "[tools] promlint built at $BIN/promlint"
}

schemathesis() {
  local venv="$ROOT/.tools/venv" pins="$ROOT/tools/schemathesis/requirements.txt"
  if [ -x "$venv/bin/schemathesis" ] && cmp -s "$pins" "$venv/.installed"; then return; fi
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    echo "[tools] error: Schemathesis needs Python 3.10+ with venv (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$pins"
  cp "$pins" "$venv/.installed"
  echo "[tools] $("$venv/bin/schemathesis" --version) installed in $venv"
}

promlint
schemathesis
