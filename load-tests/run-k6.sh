#!/usr/bin/env bash
# Runs a k6 scenario against the running stack (npm run stack), or BASE_URL; the bench and the
# k6 smoke test run k6 through here too:
#   npm run load:lunch -- [-e PROFILE=ci] [-e SPIKE_X=10] [-e DURATION=2m] [-e COURIERS=2000]
# The tokens are signed with the stack's JWT_SECRET (from the environment, else .mesh/dev.env).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCENARIO="$1"
shift
K6="$ROOT/.tools/bin/k6"
[ -x "$K6" ] || { echo "[load] error: k6 is not built; run npm run load:install" >&2; exit 1; }
if [ -z "${JWT_SECRET:-}" ] && [ -f "$ROOT/.mesh/dev.env" ]; then
  JWT_SECRET="$(sed -n 's/^JWT_SECRET=//p' "$ROOT/.mesh/dev.env")"
fi
[ -n "${JWT_SECRET:-}" ] || { echo "[load] error: no JWT_SECRET (start the stack with npm run stack first)" >&2; exit 1; }
# k6 usually shares the machine with the stack. Go's collector marking k6's 0.5–1 GB heap takes
# 1–1.6 s and up to a core (GODEBUG=gctrace=1), stalling k6's VUs and the stack's processes alike,
# which showed as the worst second of a run. A run of minutes allocates a few GB, so k6 runs
# without collecting until its heap reaches a quarter of the machine's memory (both overridable).
if [ -z "${GOGC:-}" ] && [ -z "${GOMEMLIMIT:-}" ] && [ -r /proc/meminfo ]; then
  GOGC=off
  GOMEMLIMIT="$(awk '/^MemTotal:/ { printf "%.0f", $2 * 256; exit }' /proc/meminfo)"
  export GOGC GOMEMLIMIT
fi
export JWT_SECRET K6_AUTO_EXTENSION_RESOLUTION=false
exec "$K6" run -e "BASE_URL=${BASE_URL:-http://127.0.0.1:3000}" "$@" "$ROOT/load-tests/k6/$SCENARIO.js"
